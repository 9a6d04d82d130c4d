// Billing (정기결제): billing keys and scheduled charges.
import { useState } from "react";
import { Anchor, Badge, Button, Checkbox, Group, Stack, Table, Tabs, Text, TextInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import {
  BillingKeyStatus,
  BillingKeyStatusSchema,
  BillingService,
  ScheduleStatus,
  ScheduleStatusSchema,
} from "@paymux/client";
import type { BillingKey, Schedule } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan } from "../api/session";
import { ConfirmModal, DataTable, ErrorAlert, Loading, Money, PageHeader, Pager, Time, useLang, usePager } from "../components/common";
import { EnumSelect, KSTInput } from "../components/forms";
import { enumText } from "../components/labels";
import { ModeBadge } from "./Keys";
import { dateToKSTInput, formatMoney, parseAmount } from "../lib/format";
import { ts } from "../lib/query";
import { timestampDate } from "@bufbuild/protobuf/wkt";

function BillingKeys() {
  const { t } = useTranslation();
  const canDelete = useCan(BillingService.method.deleteBillingKey);
  const [status, setStatus] = useState("");
  const [query, setQuery] = useState("");
  const [applied, setApplied] = useState({ status: "", query: "" });
  const pager = usePager();
  const list = useStoreQuery(["billing-keys", applied, pager.token], (storeId) =>
    client(BillingService).listBillingKeys({
      storeId,
      statuses: applied.status ? [Number(applied.status)] : [],
      query: applied.query.trim(),
      pageSize: 50,
      pageToken: pager.token,
    }),
  );
  const [deleting, setDeleting] = useState<BillingKey>();
  const [revokeSchedules, setRevokeSchedules] = useState(true);
  const [reason, setReason] = useState("");
  const del = useAction(
    (k: BillingKey) => client(BillingService).deleteBillingKey({ id: k.id, revokeSchedules, reason: reason.trim() }),
    { invalidate: [["billing-keys"], ["schedules"]], success: t("billing.keyDeleted") },
  );
  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          pager.reset();
          setApplied({ status, query });
        }}
      >
        <Group align="end">
          <TextInput label={t("billing.search")} value={query} onChange={(e) => setQuery(e.currentTarget.value)} data-testid="billing-key-search" />
          <EnumSelect schema={BillingKeyStatusSchema} label={t("common.status")} value={status} onChange={setStatus} testId="billing-key-status" allowAny />
          <Button type="submit" data-testid="billing-key-search-submit">{t("common.search")}</Button>
        </Group>
      </form>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <>
          <DataTable
            testId="billing-keys-table"
            minWidth={900}
            empty={list.data.billingKeys.length === 0}
            head={[t("common.id"), t("payments.card"), t("payments.customer"), t("common.mode"), t("common.status"), t("billing.pendingSchedules"), t("common.created"), t("common.actions")]}
          >
            {list.data.billingKeys.map((k) => (
              <Table.Tr key={k.id} data-testid="billing-key-row" data-id={k.id}>
                <Table.Td ff="monospace">{k.id}</Table.Td>
                <Table.Td>{[k.card?.number, k.card?.issuer].filter(Boolean).join(" · ")}</Table.Td>
                <Table.Td>{[k.customer?.name, k.customer?.email].filter(Boolean).join(" · ")}</Table.Td>
                <Table.Td><ModeBadge mode={k.mode} /></Table.Td>
                <Table.Td>
                  <Badge variant="light" color={k.status === BillingKeyStatus.ACTIVE ? "green" : "gray"}>
                    {enumText(t, BillingKeyStatusSchema, k.status)}
                  </Badge>
                </Table.Td>
                <Table.Td>{k.pendingSchedules}</Table.Td>
                <Table.Td><Time t={k.createTime} /></Table.Td>
                <Table.Td>
                  {k.status !== BillingKeyStatus.DELETED && (
                    <Button size="xs" color="red" variant="light" disabled={!canDelete} onClick={() => setDeleting(k)} data-testid="billing-key-delete">
                      {t("common.delete")}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
          <Pager pager={pager} nextToken={list.data.nextPageToken} testId="billing-keys-pager" />
        </>
      )}
      <ConfirmModal
        opened={!!deleting}
        title={t("billing.deleteKeyTitle")}
        confirmLabel={t("common.delete")}
        busy={del.isPending}
        error={del.error}
        onClose={() => {
          setDeleting(undefined);
          del.reset();
        }}
        onConfirm={() => deleting && del.mutate(deleting, { onSuccess: () => setDeleting(undefined) })}
        testId="billing-key-delete-modal"
      >
        <Text size="sm">{t("billing.deleteKeyBody", { id: deleting?.id ?? "", n: deleting?.pendingSchedules ?? 0 })}</Text>
        <Checkbox
          label={t("billing.revokeSchedulesToo")}
          checked={revokeSchedules}
          onChange={(e) => setRevokeSchedules(e.currentTarget.checked)}
          data-testid="billing-key-revoke-schedules"
        />
        <TextInput label={t("billing.reason")} value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="billing-key-delete-reason" />
      </ConfirmModal>
    </Stack>
  );
}

function Schedules() {
  const { t } = useTranslation();
  const lang = useLang();
  const canRevoke = useCan(BillingService.method.revokeSchedules);
  const canReschedule = useCan(BillingService.method.reschedule);
  const [status, setStatus] = useState(String(ScheduleStatus.SCHEDULED));
  const [keyId, setKeyId] = useState("");
  const [applied, setApplied] = useState({ status: String(ScheduleStatus.SCHEDULED), keyId: "" });
  const pager = usePager();
  const list = useStoreQuery(["schedules", applied, pager.token], (storeId) =>
    client(BillingService).listSchedules({
      storeId,
      billingKeyId: applied.keyId.trim(),
      statuses: applied.status ? [Number(applied.status)] : [],
      pageSize: 50,
      pageToken: pager.token,
    }),
  );
  const [revoking, setRevoking] = useState<Schedule>();
  const [moving, setMoving] = useState<Schedule>();
  const [payTime, setPayTime] = useState("");
  const [amount, setAmount] = useState("");
  const revoke = useAction(
    async (s: Schedule) => {
      const r = await client(BillingService).revokeSchedules({
        target: { case: "scheduleIds", value: { ids: [s.id] } },
        reason: "console",
      });
      if (r.revoked.length === 0) throw new Error(t("billing.notRevoked"));
      return r;
    },
    { invalidate: [["schedules"], ["billing-keys"]], success: t("billing.revoked") },
  );
  const reschedule = useAction(
    (s: Schedule) => {
      const a = parseAmount(amount);
      return client(BillingService).reschedule({
        id: s.id,
        payTime: ts(payTime),
        amount: a !== undefined && a !== s.amount?.total ? { total: a, taxFree: s.amount?.taxFree ?? 0n } : undefined,
      });
    },
    { invalidate: [["schedules"]], success: t("billing.rescheduled") },
  );
  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          pager.reset();
          setApplied({ status, keyId });
        }}
      >
        <Group align="end">
          <TextInput label={t("billing.billingKey")} value={keyId} onChange={(e) => setKeyId(e.currentTarget.value)} data-testid="schedule-search-key" />
          <EnumSelect schema={ScheduleStatusSchema} label={t("common.status")} value={status} onChange={setStatus} testId="schedule-status" allowAny />
          <Button type="submit" data-testid="schedule-search-submit">{t("common.search")}</Button>
        </Group>
      </form>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <>
          <DataTable
            testId="schedules-table"
            minWidth={1000}
            empty={list.data.schedules.length === 0}
            head={[t("billing.payTime"), t("billing.billingKey"), t("payments.orderNumber"), t("payments.orderName"), t("payments.amount"), t("common.status"), t("common.actions")]}
          >
            {list.data.schedules.map((s) => (
              <Table.Tr key={s.id} data-testid="schedule-row" data-id={s.id}>
                <Table.Td><Time t={s.payTime} /></Table.Td>
                <Table.Td ff="monospace">{s.billingKeyId}</Table.Td>
                <Table.Td ff="monospace">
                  {s.paymentId ? (
                    <Anchor component={Link} to={`/payments/${encodeURIComponent(s.paymentId)}`} size="sm">{s.merchantPaymentId}</Anchor>
                  ) : (
                    s.merchantPaymentId
                  )}
                </Table.Td>
                <Table.Td>{s.orderName}</Table.Td>
                <Table.Td><Money amount={s.amount?.total} /></Table.Td>
                <Table.Td>
                  {enumText(t, ScheduleStatusSchema, s.status)}
                  {s.failure?.message && <Text size="xs" c="red">{s.failure.message}</Text>}
                </Table.Td>
                <Table.Td>
                  {s.status === ScheduleStatus.SCHEDULED && (
                    <Group gap={4} wrap="nowrap">
                      <Button
                        size="xs"
                        variant="light"
                        disabled={!canReschedule}
                        onClick={() => {
                          setMoving(s);
                          setPayTime(s.payTime ? dateToKSTInput(timestampDate(s.payTime)) : "");
                          setAmount(String(s.amount?.total ?? ""));
                        }}
                        data-testid="schedule-reschedule"
                      >
                        {t("billing.reschedule")}
                      </Button>
                      <Button size="xs" variant="light" color="red" disabled={!canRevoke} onClick={() => setRevoking(s)} data-testid="schedule-revoke">
                        {t("billing.revoke")}
                      </Button>
                    </Group>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
          <Pager pager={pager} nextToken={list.data.nextPageToken} testId="schedules-pager" />
        </>
      )}
      <ConfirmModal
        opened={!!revoking}
        title={t("billing.revokeTitle")}
        confirmLabel={t("billing.revoke")}
        busy={revoke.isPending}
        error={revoke.error}
        onClose={() => {
          setRevoking(undefined);
          revoke.reset();
        }}
        onConfirm={() => revoking && revoke.mutate(revoking, { onSuccess: () => setRevoking(undefined) })}
        testId="schedule-revoke-modal"
      >
        <Text size="sm">
          {t("billing.revokeBody", {
            order: revoking?.merchantPaymentId ?? "",
            amount: formatMoney(revoking?.amount?.total ?? 0n, lang),
          })}
        </Text>
      </ConfirmModal>
      <ConfirmModal
        opened={!!moving}
        danger={false}
        title={t("billing.rescheduleTitle")}
        confirmLabel={t("billing.reschedule")}
        busy={reschedule.isPending}
        error={reschedule.error}
        disabled={!ts(payTime) || parseAmount(amount) === undefined}
        onClose={() => {
          setMoving(undefined);
          reschedule.reset();
        }}
        onConfirm={() => moving && reschedule.mutate(moving, { onSuccess: () => setMoving(undefined) })}
        testId="schedule-reschedule-modal"
      >
        <KSTInput label={t("billing.payTime")} value={payTime} onChange={setPayTime} testId="schedule-pay-time" required />
        <TextInput label={t("payments.amount")} value={amount} onChange={(e) => setAmount(e.currentTarget.value)} data-testid="schedule-amount" inputMode="numeric" />
      </ConfirmModal>
    </Stack>
  );
}

export default function BillingPage() {
  const { t } = useTranslation();
  const [tab, setTab] = useState<string | null>("keys");
  return (
    <Stack>
      <PageHeader title={t("nav.billing")} />
      <Tabs value={tab} onChange={setTab}>
        <Tabs.List>
          <Tabs.Tab value="keys" data-testid="billing-tab-keys">{t("billing.keys")}</Tabs.Tab>
          <Tabs.Tab value="schedules" data-testid="billing-tab-schedules">{t("billing.schedules")}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="keys" pt="md">{tab === "keys" && <BillingKeys />}</Tabs.Panel>
        <Tabs.Panel value="schedules" pt="md">{tab === "schedules" && <Schedules />}</Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
