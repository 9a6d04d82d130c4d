// Webhooks (웹훅): endpoints with their filters, TEST calls, secret rotation,
// and the delivery log with every attempt and resends.
import { useState } from "react";
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  Modal,
  NativeSelect,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link, Route, Routes, useLocation, useNavigate } from "react-router";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Mode,
  ModeSchema,
  PayMethodSchema,
  WebhookContentType,
  WebhookContentTypeSchema,
  WebhookDeliveryStatus,
  WebhookDeliveryStatusSchema,
  WebhookService,
  WebhookTriggerSchema,
} from "@paymux/client";
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan, useChangesLive, useConsole } from "../api/session";
import {
  ConfirmModal,
  DataTable,
  ErrorAlert,
  Headers,
  Loading,
  PageHeader,
  Pager,
  Pre,
  RoleNote,
  SecretOnceModal,
  Time,
  usePager,
} from "../components/common";
import { EnumSelect, KSTInput } from "../components/forms";
import { enumOptions, enumText } from "../components/labels";
import { ModeBadge } from "./Keys";
import { allEventTypes, updateMaskFor } from "../lib/webhooks";
import { daysAgoInput, ts } from "../lib/query";
import { formatMillis } from "../lib/format";
import { durationMs } from "../lib/duration";

interface EndpointForm {
  url: string;
  mode: string;
  description: string;
  eventTypes: string[];
  payMethods: string[];
  contentType: string;
  enabled: boolean;
  disabledReason: string;
}

function formOf(e?: WebhookEndpoint): EndpointForm {
  return {
    url: e?.url ?? "",
    mode: String(e?.mode ?? Mode.TEST),
    description: e?.description ?? "",
    eventTypes: e?.eventTypes ?? [],
    payMethods: (e?.payMethods ?? []).map(String),
    contentType: String(e?.contentType ?? WebhookContentType.JSON),
    enabled: e?.enabled ?? true,
    disabledReason: e?.disabledReason ?? "",
  };
}

function EndpointModal({
  endpoint,
  opened,
  onClose,
  onSecret,
}: {
  endpoint?: WebhookEndpoint;
  opened: boolean;
  onClose: () => void;
  onSecret: (s: { title: string; secret: string }) => void;
}) {
  const { t } = useTranslation();
  const { storeId } = useConsole();
  const live = useChangesLive();
  const [f, setF] = useState<EndpointForm>(() => formOf(endpoint));
  const editing = !!endpoint;
  const save = useAction(
    async () => {
      const payMethods = f.payMethods.map(Number);
      if (!endpoint) {
        const r = await client(WebhookService).createWebhookEndpoint({
          storeId,
          url: f.url.trim(),
          mode: Number(f.mode),
          description: f.description.trim(),
          eventTypes: f.eventTypes,
          payMethods,
          contentType: Number(f.contentType),
        });
        onSecret({ title: t("webhooks.createdTitle"), secret: r.secret });
        return r.endpoint;
      }
      const before = formOf(endpoint);
      const paths = updateMaskFor(
        { ...before, mode: "" },
        { ...f, mode: "" },
        {
          url: "url",
          mode: "",
          description: "description",
          eventTypes: "event_types",
          payMethods: "pay_methods",
          contentType: "content_type",
          enabled: "enabled",
          disabledReason: "enabled",
        },
      ).filter((p, i, a) => p !== "" && a.indexOf(p) === i);
      if (paths.length === 0) return endpoint;
      const r = await client(WebhookService).updateWebhookEndpoint({
        id: endpoint.id,
        url: f.url.trim(),
        description: f.description.trim(),
        eventTypes: f.eventTypes,
        payMethods,
        contentType: Number(f.contentType),
        enabled: f.enabled,
        disabledReason: f.enabled ? "" : f.disabledReason.trim(),
        updateMask: { paths },
      });
      return r.endpoint;
    },
    { invalidate: [["webhook-endpoints"]], success: editing ? t("webhooks.saved") : undefined },
  );
  const set = <K extends keyof EndpointForm>(k: K, v: EndpointForm[K]) => setF((x) => ({ ...x, [k]: v }));
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={editing ? t("webhooks.edit") : t("webhooks.add")}
      size="lg"
      data-testid="webhook-modal"
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate(undefined, { onSuccess: onClose });
        }}
      >
        <Stack>
          <TextInput
            label="URL"
            type="url"
            required
            placeholder="https://example.com/webhooks/paymux"
            value={f.url}
            onChange={(e) => set("url", e.currentTarget.value)}
            data-testid="webhook-url"
          />
          {!editing && live && (
            <EnumSelect schema={ModeSchema} label={t("common.mode")} value={f.mode} onChange={(v) => set("mode", v)} testId="webhook-mode" />
          )}
          <TextInput
            label={t("common.description")}
            maxLength={200}
            value={f.description}
            onChange={(e) => set("description", e.currentTarget.value)}
            data-testid="webhook-description"
          />
          <EnumSelect
            schema={WebhookContentTypeSchema}
            label={t("webhooks.contentType")}
            value={f.contentType}
            onChange={(v) => set("contentType", v)}
            testId="webhook-content-type"
          />
          <Checkbox.Group
            label={t("webhooks.eventTypes")}
            description={t("webhooks.eventTypesHelp")}
            value={f.eventTypes}
            onChange={(v) => set("eventTypes", v)}
            data-testid="webhook-event-types"
          >
            <SimpleGrid cols={{ base: 1, sm: 2 }} mt="xs" spacing={4}>
              {allEventTypes.map((ev) => (
                <Checkbox key={ev} value={ev} label={ev} data-testid={`webhook-event-${ev}`} />
              ))}
            </SimpleGrid>
          </Checkbox.Group>
          <Checkbox.Group
            label={t("webhooks.payMethods")}
            description={t("webhooks.payMethodsHelp")}
            value={f.payMethods}
            onChange={(v) => set("payMethods", v)}
            data-testid="webhook-pay-methods"
          >
            <SimpleGrid cols={{ base: 2, sm: 3 }} mt="xs" spacing={4}>
              {enumOptions(t, PayMethodSchema).map((o) => (
                <Checkbox key={o.value} value={o.value} label={o.label} data-testid={`webhook-method-${o.value}`} />
              ))}
            </SimpleGrid>
          </Checkbox.Group>
          {editing && (
            <>
              <Switch
                label={t("webhooks.enabled")}
                checked={f.enabled}
                onChange={(e) => set("enabled", e.currentTarget.checked)}
                data-testid="webhook-enabled"
              />
              {!f.enabled && (
                <TextInput
                  label={t("webhooks.disabledReason")}
                  value={f.disabledReason}
                  onChange={(e) => set("disabledReason", e.currentTarget.value)}
                  data-testid="webhook-disabled-reason"
                />
              )}
            </>
          )}
          <ErrorAlert error={save.error} testId="webhook-save-error" />
          <Group justify="end">
            <Button variant="default" onClick={onClose}>
              {t("common.cancel")}
            </Button>
            <Button type="submit" loading={save.isPending} data-testid="webhook-save">
              {t("common.save")}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function AttemptView({ a, testId }: { a: WebhookAttempt; testId?: string }) {
  const { t } = useTranslation();
  const ok = a.responseStatus >= 200 && a.responseStatus < 300;
  return (
    <Stack gap="xs" data-testid={testId}>
      <Group gap="xs">
        <Badge color={ok ? "green" : "red"} data-testid="webhook-attempt-status">
          {a.responseStatus ? `HTTP ${a.responseStatus}` : t("webhooks.noAnswer")}
        </Badge>
        <Text size="sm">#{a.number}</Text>
        <Text size="sm">{enumText(t, WebhookTriggerSchema, a.trigger)}</Text>
        <Time t={a.requestTime} />
        {a.latency && <Text size="sm">{formatMillis(durationMs(a.latency))}</Text>}
      </Group>
      <Text size="xs" ff="monospace" style={{ wordBreak: "break-all" }}>
        POST {a.url}
      </Text>
      {a.error && (
        <Alert color="red" p="xs">
          {a.error}
        </Alert>
      )}
      <Text size="sm" fw={500}>
        {t("webhooks.responseBody")}
        {a.responseTruncated && ` (${t("webhooks.truncated")})`}
      </Text>
      <Pre text={a.responseBody} testId="webhook-attempt-response" />
      <Text size="sm" fw={500}>
        {t("webhooks.responseHeaders")}
      </Text>
      <Headers headers={a.responseHeaders} />
      <Text size="sm" fw={500}>
        {t("webhooks.requestHeaders")}
      </Text>
      <Headers headers={a.requestHeaders} />
      <Text size="sm" fw={500}>
        {t("webhooks.requestBody")}
      </Text>
      <Pre text={a.requestBody} />
    </Stack>
  );
}

function Endpoints() {
  const { t } = useTranslation();
  const canManage = useCan(WebhookService.method.createWebhookEndpoint);
  const live = useChangesLive();
  // Below ADMIN, changes reach TEST endpoints only.
  const canChange = (e: WebhookEndpoint) => canManage && (live || e.mode === Mode.TEST);
  const list = useStoreQuery(["webhook-endpoints"], (storeId) =>
    client(WebhookService).listWebhookEndpoints({ storeId, pageSize: 100 }),
  );
  const [editing, setEditing] = useState<WebhookEndpoint | "new">();
  const [secret, setSecret] = useState<{ title: string; secret: string }>();
  const [testResult, setTestResult] = useState<WebhookAttempt>();
  const [rotating, setRotating] = useState<WebhookEndpoint>();
  const [overlapHours, setOverlapHours] = useState<number | string>(24);
  const [deleting, setDeleting] = useState<WebhookEndpoint>();
  const test = useAction(
    async (e: WebhookEndpoint) => {
      const r = await client(WebhookService).testWebhookEndpoint({ id: e.id });
      setTestResult(r.attempt);
      return r.attempt;
    },
    { invalidate: [["webhook-deliveries"]] },
  );
  const rotate = useAction(
    async (e: WebhookEndpoint) => {
      const r = await client(WebhookService).rotateWebhookSecret({
        id: e.id,
        overlap: durationFromMs(Math.max(0, Number(overlapHours) || 0) * 3600_000),
      });
      setSecret({ title: t("webhooks.rotatedTitle"), secret: r.secret });
      return r.endpoint;
    },
    { invalidate: [["webhook-endpoints"]] },
  );
  const del = useAction((e: WebhookEndpoint) => client(WebhookService).deleteWebhookEndpoint({ id: e.id }), {
    invalidate: [["webhook-endpoints"]],
    success: t("webhooks.deleted"),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {t("webhooks.intro")}
        </Text>
        {canManage ? (
          <Button onClick={() => setEditing("new")} data-testid="webhook-create">
            {t("webhooks.add")}
          </Button>
        ) : (
          <RoleNote need={t("role.developer")} />
        )}
      </Group>
      <ErrorAlert error={test.error} testId="webhook-test-error" />
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <DataTable
          testId="webhooks-table"
          minWidth={1000}
          empty={list.data.endpoints.length === 0}
          head={["URL", t("common.mode"), t("webhooks.contentType"), t("webhooks.filters"), t("common.status"), t("common.actions")]}
        >
          {list.data.endpoints.map((e) => (
            <Table.Tr key={e.id} data-testid="webhook-row" data-id={e.id}>
              <Table.Td style={{ maxWidth: 280 }}>
                <Text size="sm" ff="monospace" style={{ wordBreak: "break-all" }}>
                  {e.url}
                </Text>
                {e.description && (
                  <Text size="xs" c="dimmed">
                    {e.description}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <ModeBadge mode={e.mode} />
              </Table.Td>
              <Table.Td>{enumText(t, WebhookContentTypeSchema, e.contentType)}</Table.Td>
              <Table.Td>
                <Text size="xs">{e.eventTypes.length ? e.eventTypes.join(", ") : t("webhooks.allEvents")}</Text>
                <Text size="xs" c="dimmed">
                  {e.payMethods.length
                    ? e.payMethods.map((m) => enumText(t, PayMethodSchema, m)).join(", ")
                    : t("webhooks.allMethods")}
                </Text>
              </Table.Td>
              <Table.Td>
                <Stack gap={2}>
                  <Badge color={e.enabled ? "green" : "gray"} variant="light">
                    {e.enabled ? t("webhooks.enabled") : t("webhooks.disabled")}
                  </Badge>
                  {!e.enabled && e.disabledReason && <Text size="xs">{e.disabledReason}</Text>}
                  {e.failingSince && (
                    <Text size="xs" c="red">
                      {t("webhooks.failingSince")} <Time t={e.failingSince} />
                    </Text>
                  )}
                  {e.previousSecretExpireTime && (
                    <Text size="xs" c="dimmed">
                      {t("webhooks.oldSecretUntil")} <Time t={e.previousSecretExpireTime} />
                    </Text>
                  )}
                </Stack>
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  <Button
                    size="xs"
                    variant="light"
                    disabled={!canChange(e)}
                    loading={test.isPending && test.variables?.id === e.id}
                    onClick={() => test.mutate(e)}
                    data-testid="webhook-test"
                  >
                    TEST
                  </Button>
                  <Button size="xs" variant="light" disabled={!canChange(e)} onClick={() => setEditing(e)} data-testid="webhook-edit">
                    {t("common.edit")}
                  </Button>
                  <Button size="xs" variant="light" disabled={!canChange(e)} onClick={() => setRotating(e)} data-testid="webhook-rotate">
                    {t("webhooks.rotate")}
                  </Button>
                  <Button size="xs" variant="light" component={Link} to={`/webhooks/deliveries?endpoint=${encodeURIComponent(e.id)}`} data-testid="webhook-deliveries-link">
                    {t("webhooks.deliveries")}
                  </Button>
                  <Button size="xs" variant="light" color="red" disabled={!canChange(e)} onClick={() => setDeleting(e)} data-testid="webhook-delete">
                    {t("common.delete")}
                  </Button>
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
      {editing && (
        <EndpointModal
          endpoint={editing === "new" ? undefined : editing}
          opened
          onClose={() => setEditing(undefined)}
          onSecret={setSecret}
        />
      )}
      <Modal opened={!!testResult} onClose={() => setTestResult(undefined)} title={t("webhooks.testTitle")} size="xl" data-testid="webhook-test-modal">
        {testResult && <AttemptView a={testResult} testId="webhook-test-result" />}
      </Modal>
      <ConfirmModal
        opened={!!rotating}
        title={t("webhooks.rotateTitle")}
        confirmLabel={t("webhooks.rotate")}
        busy={rotate.isPending}
        error={rotate.error}
        onClose={() => {
          setRotating(undefined);
          rotate.reset();
        }}
        onConfirm={() => rotating && rotate.mutate(rotating, { onSuccess: () => setRotating(undefined) })}
        testId="webhook-rotate-modal"
      >
        <Text size="sm">{t("webhooks.rotateBody")}</Text>
        <NumberInput
          label={t("webhooks.overlapHours")}
          min={0}
          max={168}
          value={overlapHours}
          onChange={setOverlapHours}
          data-testid="webhook-rotate-overlap"
        />
      </ConfirmModal>
      <ConfirmModal
        opened={!!deleting}
        title={t("webhooks.deleteTitle")}
        confirmLabel={t("common.delete")}
        busy={del.isPending}
        error={del.error}
        onClose={() => {
          setDeleting(undefined);
          del.reset();
        }}
        onConfirm={() => deleting && del.mutate(deleting, { onSuccess: () => setDeleting(undefined) })}
        testId="webhook-delete-modal"
      >
        <Text size="sm">{t("webhooks.deleteBody", { url: deleting?.url ?? "" })}</Text>
      </ConfirmModal>
      <SecretOnceModal
        opened={!!secret}
        title={secret?.title ?? ""}
        label={t("webhooks.secret")}
        secret={secret?.secret ?? ""}
        onClose={() => setSecret(undefined)}
        testId="webhook-secret-modal"
        secretTestId="webhook-secret"
      />
    </Stack>
  );
}

function DeliveryModal({ id, onClose }: { id: string; onClose: () => void }) {
  const { t } = useTranslation();
  const q = useStoreQuery(["webhook-delivery", id], () => client(WebhookService).getWebhookDelivery({ id }));
  const d = q.data?.delivery;
  return (
    <Modal opened onClose={onClose} title={t("webhooks.delivery")} size="xl" data-testid="webhook-delivery-modal">
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorAlert error={q.error} />
      ) : d ? (
        <Stack>
          <Text size="sm">
            {d.eventType} · {d.eventId} · {enumText(t, WebhookDeliveryStatusSchema, d.status)}
          </Text>
          {d.paymentId && (
            <Anchor component={Link} to={`/payments/${encodeURIComponent(d.paymentId)}`} size="sm">
              {t("payments.payment")} {d.merchantPaymentId || d.paymentId}
            </Anchor>
          )}
          {d.attempts.length === 0 && <Text c="dimmed">{t("webhooks.noAttempts")}</Text>}
          {[...d.attempts].reverse().map((a) => (
            <Paper key={a.number} withBorder p="sm" data-testid="webhook-attempt">
              <AttemptView a={a} />
            </Paper>
          ))}
        </Stack>
      ) : null}
    </Modal>
  );
}

function Deliveries() {
  const { t } = useTranslation();
  const { storeId } = useConsole();
  const location = useLocation();
  const search = new URLSearchParams(location.search);
  const initialEndpoint = search.get("endpoint") ?? "";
  const [filter, setFilter] = useState({
    endpoint: initialEndpoint,
    status: search.get("status") === "failed" ? String(WebhookDeliveryStatus.FAILED) : "",
    eventType: "",
    order: "",
    from: "",
    to: "",
  });
  const [applied, setApplied] = useState(filter);
  const pager = usePager();
  const [open, setOpen] = useState<string>();
  const [resendSince, setResendSince] = useState(() => daysAgoInput(1));
  const [resendEndpoint, setResendEndpoint] = useState(initialEndpoint);
  const [confirmAll, setConfirmAll] = useState(false);
  const endpoints = useStoreQuery(["webhook-endpoints"], (storeId) =>
    client(WebhookService).listWebhookEndpoints({ storeId, pageSize: 100 }),
  );
  const list = useStoreQuery(["webhook-deliveries", applied, pager.token], (storeId) =>
    client(WebhookService).listWebhookDeliveries({
      storeId,
      endpointId: applied.endpoint,
      statuses: applied.status ? [Number(applied.status)] : [],
      eventType: applied.eventType.trim(),
      merchantPaymentId: applied.order.trim(),
      startTime: ts(applied.from),
      endTime: ts(applied.to),
      pageSize: 50,
      pageToken: pager.token,
    }),
  );
  const resendOne = useAction(
    (d: WebhookDelivery) => client(WebhookService).resendWebhooks({ storeId, target: { case: "deliveryId", value: d.id } }),
    { invalidate: [["webhook-deliveries"]], success: t("webhooks.resent") },
  );
  const resendAll = useAction(
    () =>
      client(WebhookService).resendWebhooks({
        storeId,
        target: {
          case: "failedSince",
          value: { endpointId: resendEndpoint, since: ts(resendSince) ?? timestampFromDate(new Date(0)) },
        },
      }),
    { invalidate: [["webhook-deliveries"]] },
  );
  const epOptions = [
    { value: "", label: t("common.all") },
    ...(endpoints.data?.endpoints ?? []).map((e) => ({ value: e.id, label: e.url })),
  ];
  const set = (k: keyof typeof filter) => (v: string) => setFilter((f) => ({ ...f, [k]: v }));
  return (
    <Stack>
      <Paper withBorder p="md">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            pager.reset();
            setApplied(filter);
          }}
        >
          <SimpleGrid cols={{ base: 1, sm: 3, lg: 6 }}>
            <NativeSelect
              label={t("webhooks.endpoint")}
              data={epOptions}
              value={filter.endpoint}
              onChange={(e) => set("endpoint")(e.currentTarget.value)}
              data-testid="delivery-filter-endpoint"
            />
            <EnumSelect
              schema={WebhookDeliveryStatusSchema}
              label={t("common.status")}
              value={filter.status}
              onChange={set("status")}
              testId="delivery-filter-status"
              allowAny
            />
            <TextInput label={t("webhooks.eventType")} value={filter.eventType} onChange={(e) => set("eventType")(e.currentTarget.value)} data-testid="delivery-filter-event" />
            <TextInput label={t("payments.orderNumber")} value={filter.order} onChange={(e) => set("order")(e.currentTarget.value)} data-testid="delivery-filter-order" />
            <KSTInput label={t("common.from")} value={filter.from} onChange={set("from")} testId="delivery-filter-from" />
            <KSTInput label={t("common.to")} value={filter.to} onChange={set("to")} testId="delivery-filter-to" />
          </SimpleGrid>
          <Group justify="end" mt="sm">
            <Button type="submit" data-testid="delivery-search">
              {t("common.search")}
            </Button>
          </Group>
        </form>
      </Paper>
      <Paper withBorder p="md">
        <Title order={3} size="h5" mb="xs">
          {t("webhooks.resendFailedTitle")}
        </Title>
        <Group align="end">
          <NativeSelect
            label={t("webhooks.endpoint")}
            data={[{ value: "", label: t("webhooks.chooseEndpoint") }, ...epOptions.slice(1)]}
            value={resendEndpoint}
            onChange={(e) => setResendEndpoint(e.currentTarget.value)}
            data-testid="delivery-resend-endpoint"
            style={{ minWidth: 220 }}
          />
          <KSTInput label={t("webhooks.since")} value={resendSince} onChange={setResendSince} testId="delivery-resend-since" />
          <Button
            variant="light"
            disabled={!resendEndpoint || !ts(resendSince)}
            onClick={() => setConfirmAll(true)}
            data-testid="delivery-resend-failed"
          >
            {t("webhooks.resendFailed")}
          </Button>
        </Group>
        {resendAll.data && (
          <Alert mt="sm" color="green" data-testid="delivery-resend-result">
            {t("webhooks.resentCount", { n: resendAll.data.deliveries.length })}
          </Alert>
        )}
      </Paper>
      <ErrorAlert error={resendOne.error} testId="delivery-resend-error" />
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <>
          <DataTable
            testId="deliveries-table"
            minWidth={1000}
            empty={list.data.deliveries.length === 0}
            head={[
              t("common.created"),
              t("webhooks.eventType"),
              t("payments.orderNumber"),
              t("common.status"),
              t("webhooks.attempts"),
              t("webhooks.lastResponse"),
              t("webhooks.nextAttempt"),
              t("common.actions"),
            ]}
          >
            {list.data.deliveries.map((d) => (
              <Table.Tr key={d.id} data-testid="delivery-row" data-id={d.id}>
                <Table.Td><Time t={d.createTime} /></Table.Td>
                <Table.Td>{d.eventType}</Table.Td>
                <Table.Td ff="monospace">{d.merchantPaymentId}</Table.Td>
                <Table.Td>
                  <Badge
                    variant="light"
                    color={d.status === WebhookDeliveryStatus.SUCCEEDED ? "green" : d.status === WebhookDeliveryStatus.FAILED ? "red" : "yellow"}
                    data-testid="delivery-status"
                  >
                    {enumText(t, WebhookDeliveryStatusSchema, d.status)}
                  </Badge>
                </Table.Td>
                <Table.Td>{d.attemptCount}</Table.Td>
                <Table.Td>{d.lastResponseStatus || "-"}</Table.Td>
                <Table.Td><Time t={d.nextAttemptTime} /></Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Button size="xs" variant="light" onClick={() => setOpen(d.id)} data-testid="delivery-details">
                      {t("common.details")}
                    </Button>
                    <Button
                      size="xs"
                      variant="light"
                      loading={resendOne.isPending && resendOne.variables?.id === d.id}
                      onClick={() => resendOne.mutate(d)}
                      data-testid="delivery-resend"
                    >
                      {t("webhooks.resend")}
                    </Button>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
          <Pager pager={pager} nextToken={list.data.nextPageToken} testId="deliveries-pager" />
        </>
      )}
      {open && <DeliveryModal id={open} onClose={() => setOpen(undefined)} />}
      <ConfirmModal
        opened={confirmAll}
        danger={false}
        title={t("webhooks.resendFailedTitle")}
        confirmLabel={t("webhooks.resendFailed")}
        busy={resendAll.isPending}
        error={resendAll.error}
        onClose={() => {
          setConfirmAll(false);
        }}
        onConfirm={() => resendAll.mutate(undefined, { onSuccess: () => setConfirmAll(false) })}
        testId="delivery-resend-modal"
      >
        <Text size="sm">{t("webhooks.resendFailedBody", { since: resendSince.replace("T", " ") + " KST" })}</Text>
      </ConfirmModal>
    </Stack>
  );
}

export default function WebhooksPage() {
  const { t } = useTranslation();
  const location = useLocation();
  const navigate = useNavigate();
  const canDeliveries = useCan(WebhookService.method.listWebhookDeliveries);
  const tab = location.pathname.startsWith("/webhooks/deliveries") ? "deliveries" : "endpoints";
  return (
    <Stack>
      <PageHeader title={t("nav.webhooks")} />
      <Tabs value={tab} onChange={(v) => navigate(v === "deliveries" ? "/webhooks/deliveries" : "/webhooks")}>
        <Tabs.List>
          <Tabs.Tab value="endpoints" data-testid="webhooks-tab-endpoints">
            {t("webhooks.endpoints")}
          </Tabs.Tab>
          <Tabs.Tab value="deliveries" data-testid="webhooks-tab-deliveries">
            {t("webhooks.deliveries")}
          </Tabs.Tab>
        </Tabs.List>
      </Tabs>
      <Routes>
        <Route index element={<Endpoints />} />
        <Route path="deliveries" element={canDeliveries ? <Deliveries /> : <RoleNote need={t("role.developer")} />} />
      </Routes>
    </Stack>
  );
}
