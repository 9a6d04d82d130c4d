// Logs (로그): API calls and PG calls, searchable, each with its masked
// request and response; webhook attempts on their own tab.
import { useState } from "react";
import { Anchor, Badge, Button, Group, Paper, SimpleGrid, Stack, Table, Tabs, Text, TextInput, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link, Route, Routes, useNavigate, useParams, useSearchParams } from "react-router";
import { LogKind, LogKindSchema, LogResult, LogResultSchema, LogService } from "@paymux/client";
import { client } from "../api/transport";
import { useStoreQuery } from "../api/hooks";
import { DataTable, ErrorAlert, Headers, Loading, PageHeader, Pager, Pre, Time, usePager } from "../components/common";
import { EnumSelect, KSTInput } from "../components/forms";
import { enumText } from "../components/labels";
import { emptyLogFilter, listLogsRequest, logFilterFromParams, logFilterToParams } from "../lib/query";
import type { LogFilter } from "../lib/query";
import { formatMillis } from "../lib/format";
import { durationMs } from "../lib/duration";

const kinds: Record<string, LogKind> = { api: LogKind.API, pg: LogKind.PG, webhook: LogKind.WEBHOOK };

function LogList({ kind }: { kind: LogKind }) {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const applied = logFilterFromParams(params);
  const [form, setForm] = useState<LogFilter>(applied);
  const pager = usePager();
  const list = useStoreQuery(["logs", kind, applied, pager.token], (storeId) =>
    client(LogService).listLogs(listLogsRequest(storeId, kind, applied, pager.token)),
  );
  const set = (k: keyof LogFilter) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <Stack>
      <Paper withBorder p="md">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            pager.reset();
            setParams(logFilterToParams(form));
          }}
          data-testid="log-search-form"
        >
          <SimpleGrid cols={{ base: 1, sm: 3, lg: 6 }}>
            <TextInput label={t("payments.orderNumber")} value={form.order} onChange={(e) => set("order")(e.currentTarget.value)} data-testid="log-search-order" />
            <TextInput
              label={t("logs.code")}
              placeholder="INVALID_ARGUMENT"
              value={form.code}
              onChange={(e) => set("code")(e.currentTarget.value)}
              data-testid="log-search-code"
            />
            <TextInput
              label={kind === LogKind.WEBHOOK ? t("webhooks.eventType") : t("logs.method")}
              placeholder={kind === LogKind.API ? "CreatePayment" : kind === LogKind.PG ? "Approve" : "payment.paid"}
              value={form.method}
              onChange={(e) => set("method")(e.currentTarget.value)}
              data-testid="log-search-method"
            />
            <EnumSelect schema={LogResultSchema} label={t("logs.result")} value={form.result} onChange={set("result")} testId="log-search-result" allowAny />
            <KSTInput label={t("common.from")} value={form.from} onChange={set("from")} testId="log-search-from" />
            <KSTInput label={t("common.to")} value={form.to} onChange={set("to")} testId="log-search-to" />
          </SimpleGrid>
          <Group justify="end" mt="sm">
            <Button
              variant="default"
              onClick={() => {
                setForm(emptyLogFilter);
                pager.reset();
                setParams(new URLSearchParams());
              }}
              data-testid="log-search-reset"
            >
              {t("common.reset")}
            </Button>
            <Button type="submit" data-testid="log-search-submit">
              {t("common.search")}
            </Button>
          </Group>
        </form>
      </Paper>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <>
          <DataTable
            testId="logs-table"
            minWidth={1000}
            empty={list.data.logs.length === 0}
            head={[t("common.time"), t("logs.method"), t("logs.result"), t("payments.orderNumber"), t("logs.client"), t("logs.latency"), ""]}
          >
            {list.data.logs.map((l) => (
              <Table.Tr key={l.id} data-testid="log-row" data-id={l.id}>
                <Table.Td><Time t={l.time} /></Table.Td>
                <Table.Td>
                  <Text size="sm">{l.method}</Text>
                  <Text size="xs" c="dimmed">
                    {l.surface} {l.httpMethod} {l.path}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={l.result === LogResult.OK ? "green" : "red"} variant="light">
                    {l.code || enumText(t, LogResultSchema, l.result)}
                  </Badge>
                  {l.httpStatus ? <Text size="xs">HTTP {l.httpStatus}</Text> : null}
                  {l.reason && <Text size="xs" c="dimmed">{l.reason}</Text>}
                </Table.Td>
                <Table.Td ff="monospace">{l.merchantPaymentId}</Table.Td>
                <Table.Td>
                  <Text size="xs" ff="monospace">{l.clientIp}</Text>
                  {l.userEmail && (
                    <Text size="xs" data-testid="log-user">
                      {l.userEmail}
                    </Text>
                  )}
                  <Text size="xs" c="dimmed">{l.mode}</Text>
                </Table.Td>
                <Table.Td>{l.latency ? formatMillis(durationMs(l.latency)) : ""}</Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/logs/${encodeURIComponent(l.id)}`} size="sm" data-testid="log-details">
                    {t("common.details")}
                  </Anchor>
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
          <Pager pager={pager} nextToken={list.data.nextPageToken} testId="logs-pager" />
          <Text size="xs" c="dimmed">{t("common.timeZoneNote")}</Text>
        </>
      )}
    </Stack>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">{label}</Text>
      <Text size="sm" component="div" style={{ wordBreak: "break-all" }}>{children || "-"}</Text>
    </Stack>
  );
}

function LogDetail() {
  const { t } = useTranslation();
  const { kind: id = "" } = useParams();
  const q = useStoreQuery(["log", id], () => client(LogService).getLog({ id }));
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorAlert error={q.error} />;
  const l = q.data.log;
  if (!l) return null;
  return (
    <Stack data-testid="log-detail" data-id={l.id}>
      <Anchor component={Link} to={l.kind === LogKind.WEBHOOK ? "/logs/webhook" : l.kind === LogKind.PG ? "/logs/pg" : "/logs"} size="sm">
        ← {t("nav.logs")}
      </Anchor>
      <Title order={3}>{l.method}</Title>
      <Paper withBorder p="md">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
          <Field label={t("common.time")}><Time t={l.time} /></Field>
          <Field label={t("logs.kind")}>{enumText(t, LogKindSchema, l.kind)}</Field>
          <Field label={t("logs.result")}>
            {l.code} {l.httpStatus ? `(HTTP ${l.httpStatus})` : ""}
          </Field>
          <Field label={t("logs.reason")}>{l.reason}</Field>
          <Field label={t("logs.message")}>{l.message}</Field>
          <Field label={t("logs.surface")}>{l.surface}</Field>
          <Field label={t("logs.path")}>{l.httpMethod} {l.path}</Field>
          <Field label={t("common.mode")}>{l.mode}</Field>
          <Field label={t("logs.requestId")}>{l.requestId}</Field>
          <Field label={t("logs.key")}>{l.keyId}</Field>
          <Field label={t("logs.user")}>{l.userEmail ? `${l.userEmail} (${l.userId})` : ""}</Field>
          <Field label={t("logs.client")}>{l.clientIp}</Field>
          <Field label={t("logs.latency")}>{l.latency ? formatMillis(durationMs(l.latency)) : ""}</Field>
          <Field label={t("payments.orderNumber")}>{l.merchantPaymentId}</Field>
          <Field label={t("payments.payment")}>
            {l.paymentId && (
              <Anchor component={Link} to={`/payments/${encodeURIComponent(l.paymentId)}`} data-testid="log-payment-link">
                {l.paymentId} ({t("payments.timeline")})
              </Anchor>
            )}
          </Field>
        </SimpleGrid>
      </Paper>
      {l.truncated && <Text size="sm" c="orange">{t("logs.truncated")}</Text>}
      <Title order={4}>{t("logs.requestHeaders")}</Title>
      <Headers headers={l.requestHeaders} />
      <Title order={4}>{t("logs.requestBody")}</Title>
      <Pre text={l.requestBody} testId="log-request-body" />
      {Object.keys(l.responseHeaders).length > 0 && (
        <>
          <Title order={4}>{t("logs.responseHeaders")}</Title>
          <Headers headers={l.responseHeaders} />
        </>
      )}
      <Title order={4}>{t("logs.responseBody")}</Title>
      <Pre text={l.responseBody} testId="log-response-body" />
    </Stack>
  );
}

function Lists() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { kind = "api" } = useParams();
  const k = kinds[kind] ?? LogKind.API;
  return (
    <Stack>
      <PageHeader title={t("nav.logs")} />
      <Tabs value={kind in kinds ? kind : "api"} onChange={(v) => navigate(v === "api" ? "/logs" : `/logs/${v}`)}>
        <Tabs.List>
          <Tabs.Tab value="api" data-testid="logs-tab-api">{t("logs.api")}</Tabs.Tab>
          <Tabs.Tab value="pg" data-testid="logs-tab-pg">{t("logs.pg")}</Tabs.Tab>
          <Tabs.Tab value="webhook" data-testid="logs-tab-webhook">{t("logs.webhook")}</Tabs.Tab>
        </Tabs.List>
      </Tabs>
      {k === LogKind.WEBHOOK && (
        <Text size="sm">
          {t("logs.webhookNote")}{" "}
          <Anchor component={Link} to="/webhooks/deliveries">{t("webhooks.deliveries")}</Anchor>
        </Text>
      )}
      <LogList key={k} kind={k} />
    </Stack>
  );
}

export default function LogsPage() {
  return (
    <Routes>
      <Route index element={<Lists />} />
      <Route path=":kind" element={<KindOrDetail />} />
    </Routes>
  );
}

/** /logs/api|pg|webhook are lists; any other /logs/<id> is one entry. */
function KindOrDetail() {
  const { kind = "" } = useParams();
  return kind in kinds ? <Lists /> : <LogDetail />;
}
