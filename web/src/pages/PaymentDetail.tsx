// One payment: amounts, cancels, status history and its timeline; cancel in
// full or in part.
import { useState } from "react";
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  Paper,
  Radio,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import {
  ApprovalModel,
  CancellationStatusSchema,
  Mode,
  PaymentStatus,
  Provider,
  SandboxService,
  LogKindSchema,
  LogResult,
  LogService,
  PayMethod,
  PayMethodSchema,
  PaymentService,
  PaymentStatusSchema,
  ProviderSchema,
  RefundStatusSchema,
} from "@paymux/client";
import type { Payment } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan } from "../api/session";
import { ConfirmModal, DataTable, ErrorAlert, Loading, Money, PageHeader, RoleNote, Time } from "../components/common";
import { enumText } from "../components/labels";
import { PaymentStatusBadge } from "../components/status";
import { ModeBadge } from "./Keys";
import { formatMoney } from "../lib/format";
import { planCancel } from "../lib/cancel";
import { useLang } from "../components/common";

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div" style={{ wordBreak: "break-all" }}>
        {children || "-"}
      </Text>
    </Stack>
  );
}

function CancelModal({ payment, opened, onClose }: { payment: Payment; opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const cancellable = payment.amounts?.cancellable ?? 0n;
  const [full, setFull] = useState("full");
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [bank, setBank] = useState("");
  const [number, setNumber] = useState("");
  const [holder, setHolder] = useState("");
  const needsRefund = payment.method === PayMethod.VIRTUAL_ACCOUNT;
  const plan = planCancel({ full: full === "full", amount, reason }, cancellable);
  const cancel = useAction(
    async () => {
      if (!plan.ok) throw new Error(t("payments.cancelInvalid"));
      const r = await client(PaymentService).cancelPayment({
        id: payment.id,
        amount: plan.amount,
        reason: plan.reason,
        currentCancellableAmount: plan.guard,
        refundAccount: needsRefund ? { bank: bank.trim(), number: number.trim(), holder: holder.trim() } : undefined,
      });
      return r;
    },
    { invalidate: [["payment", payment.id], ["payments"], ["timeline", payment.id]], success: t("payments.cancelled") },
  );
  const problem = !plan.ok && (reason !== "" || amount !== "") ? plan.problem : undefined;
  return (
    <ConfirmModal
      opened={opened}
      title={t("payments.cancelTitle")}
      confirmLabel={t("payments.cancelConfirm")}
      busy={cancel.isPending}
      error={cancel.error}
      disabled={!plan.ok}
      onClose={() => {
        cancel.reset();
        onClose();
      }}
      onConfirm={() => cancel.mutate(undefined, { onSuccess: onClose })}
      testId="payment-cancel-modal"
    >
      <Stack>
        <Text size="sm">
          {t("payments.cancelBody", {
            order: payment.merchantPaymentId,
            cancellable: formatMoney(cancellable, lang, payment.currency || "KRW"),
          })}
        </Text>
        <Radio.Group value={full} onChange={setFull} label={t("payments.cancelKind")}>
          <Group mt={4}>
            <Radio value="full" label={t("payments.cancelFull")} data-testid="payment-cancel-full" />
            <Radio value="partial" label={t("payments.cancelPartial")} data-testid="payment-cancel-partial" />
          </Group>
        </Radio.Group>
        {full === "partial" && (
          <TextInput
            label={t("payments.cancelAmount")}
            required
            inputMode="numeric"
            value={amount}
            onChange={(e) => setAmount(e.currentTarget.value)}
            error={
              problem === "amount" ? t("payments.badAmount") : problem === "tooMuch" ? t("payments.tooMuch") : undefined
            }
            rightSection={<Text size="sm">{t("payments.won")}</Text>}
            data-testid="payment-cancel-amount"
          />
        )}
        <TextInput
          label={t("payments.cancelReason")}
          required
          maxLength={200}
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          data-testid="payment-cancel-reason"
        />
        {needsRefund && (
          <>
            <Text size="sm">{t("payments.refundAccount")}</Text>
            <SimpleGrid cols={{ base: 1, sm: 3 }}>
              <TextInput label={t("payments.bankCode")} value={bank} onChange={(e) => setBank(e.currentTarget.value)} data-testid="payment-refund-bank" />
              <TextInput label={t("payments.accountNumber")} value={number} onChange={(e) => setNumber(e.currentTarget.value)} data-testid="payment-refund-number" />
              <TextInput label={t("payments.holder")} value={holder} onChange={(e) => setHolder(e.currentTarget.value)} data-testid="payment-refund-holder" />
            </SimpleGrid>
          </>
        )}
        <Alert color="red">{t("payments.cancelWarning")}</Alert>
      </Stack>
    </ConfirmModal>
  );
}

function Timeline({ paymentId }: { paymentId: string }) {
  const { t } = useTranslation();
  const tl = useStoreQuery(["timeline", paymentId], (storeId) =>
    client(LogService).getPaymentTimeline({ storeId, paymentId }),
  );
  if (tl.isPending) return <Loading />;
  if (tl.isError) return <ErrorAlert error={tl.error} testId="timeline-error" />;
  return (
    <>
      {tl.data.truncated && <Alert color="yellow">{t("payments.timelineTruncated")}</Alert>}
      <DataTable
        testId="payment-timeline"
        minWidth={700}
        empty={tl.data.entries.length === 0}
        head={[t("common.time"), t("logs.kind"), t("logs.what"), t("logs.result")]}
      >
        {tl.data.entries.map((e, i) => (
          <Table.Tr key={i} data-testid="timeline-entry">
            <Table.Td>
              <Time t={e.time} />
            </Table.Td>
            {e.entry.case === "log" ? (
              <>
                <Table.Td>{enumText(t, LogKindSchema, e.entry.value.kind)}</Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/logs/${encodeURIComponent(e.entry.value.id)}`} size="sm">
                    {e.entry.value.method}
                  </Anchor>
                  {e.entry.value.path && (
                    <Text size="xs" c="dimmed">
                      {e.entry.value.httpMethod} {e.entry.value.path}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Badge color={e.entry.value.result === LogResult.OK ? "green" : "red"} variant="light">
                    {e.entry.value.code || "-"}
                  </Badge>
                  {e.entry.value.message && (
                    <Text size="xs" c="dimmed">
                      {e.entry.value.message}
                    </Text>
                  )}
                </Table.Td>
              </>
            ) : e.entry.case === "statusChange" ? (
              <>
                <Table.Td>{t("payments.statusChange")}</Table.Td>
                <Table.Td>{e.entry.value.eventType}</Table.Td>
                <Table.Td>
                  {enumText(t, PaymentStatusSchema, e.entry.value.fromStatus)} → {enumText(t, PaymentStatusSchema, e.entry.value.toStatus)}
                </Table.Td>
              </>
            ) : (
              <Table.Td colSpan={3} />
            )}
          </Table.Tr>
        ))}
      </DataTable>
    </>
  );
}

/** TestActions play the merchant's server and the bank for TEST payments. */
function TestActions({ payment }: { payment: Payment }) {
  const { t } = useTranslation();
  const lang = useLang();
  const canConfirm = useCan(PaymentService.method.confirmPayment);
  const canDeposit = useCan(SandboxService.method.simulateDeposit);
  const [asking, setAsking] = useState<"confirm" | "deposit">();
  const inv = { invalidate: [["payment", payment.id], ["payments"], ["timeline", payment.id]], success: t("common.done") };
  const confirm = useAction(
    () => client(PaymentService).confirmPayment({ id: payment.id, amount: payment.amounts?.total ?? 0n }),
    inv,
  );
  const deposit = useAction(() => client(SandboxService).simulateDeposit({ paymentId: payment.id }), inv);
  // Test helpers: a LIVE payment is approved by the merchant's server, not here.
  const showConfirm =
    canConfirm &&
    payment.mode === Mode.TEST &&
    payment.status === PaymentStatus.READY &&
    payment.approvalModel === ApprovalModel.SERVER;
  const showDeposit =
    canDeposit &&
    payment.mode === Mode.TEST &&
    payment.provider === Provider.SANDBOX &&
    payment.status === PaymentStatus.VIRTUAL_ACCOUNT_ISSUED;
  if (!showConfirm && !showDeposit) return null;
  const action = asking === "deposit" ? deposit : confirm;
  const amount = formatMoney(payment.amounts?.total ?? 0n, lang, payment.currency || "KRW");
  return (
    <>
      {showConfirm && (
        <Button variant="light" onClick={() => setAsking("confirm")} data-testid="payment-confirm">
          {t("payments.confirm")}
        </Button>
      )}
      {showDeposit && (
        <Button variant="light" onClick={() => setAsking("deposit")} data-testid="payment-simulate-deposit">
          {t("payments.simulateDeposit")}
        </Button>
      )}
      <ConfirmModal
        opened={!!asking}
        danger={false}
        title={asking === "deposit" ? t("payments.simulateDeposit") : t("payments.confirm")}
        confirmLabel={asking === "deposit" ? t("payments.simulateDeposit") : t("payments.confirm")}
        busy={action.isPending}
        error={action.error}
        onClose={() => {
          setAsking(undefined);
          confirm.reset();
          deposit.reset();
        }}
        onConfirm={() => action.mutate(undefined, { onSuccess: () => setAsking(undefined) })}
        testId={asking === "deposit" ? "payment-simulate-deposit-modal" : "payment-confirm-modal"}
      >
        <Text size="sm">
          {asking === "deposit" ? t("payments.simulateDepositBody", { amount }) : t("payments.confirmBody", { amount })}
        </Text>
      </ConfirmModal>
    </>
  );
}

export default function PaymentDetailPage() {
  const { t } = useTranslation();
  const { id = "" } = useParams();
  const canCancel = useCan(PaymentService.method.cancelPayment);
  const canTimeline = useCan(LogService.method.getPaymentTimeline);
  const [cancelling, setCancelling] = useState(false);
  const q = useStoreQuery(["payment", id], () => client(PaymentService).getPayment({ id }));
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorAlert error={q.error} />;
  const p = q.data.payment;
  if (!p) return <ErrorAlert error={new Error(t("error.notFound"))} />;
  const a = p.amounts;
  const cur = p.currency || "KRW";
  return (
    <Stack data-testid="payment-detail" data-id={p.id}>
      <Anchor component={Link} to="/payments" size="sm">
        ← {t("nav.payments")}
      </Anchor>
      <PageHeader title={`${t("payments.payment")} ${p.merchantPaymentId}`}>
        <TestActions payment={p} />
        {canCancel ? (
          <Button
            color="red"
            variant="light"
            disabled={(a?.cancellable ?? 0n) <= 0n}
            onClick={() => setCancelling(true)}
            data-testid="payment-cancel"
          >
            {t("payments.cancel")}
          </Button>
        ) : (
          <RoleNote need={t("role.admin")} />
        )}
      </PageHeader>
      <Paper withBorder p="md">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
          <Field label={t("common.status")}>
            <PaymentStatusBadge status={p.status} />
          </Field>
          <Field label={t("payments.orderName")}>
            <span data-testid="payment-detail-order-name">{p.orderName}</span>
          </Field>
          <Field label={t("payments.orderNumber")}>{p.merchantPaymentId}</Field>
          <Field label="ID">{p.id}</Field>
          <Field label={t("payments.method")}>{enumText(t, PayMethodSchema, p.method)}</Field>
          <Field label={t("common.mode")}>
            <ModeBadge mode={p.mode} />
          </Field>
          <Field label={t("channels.provider")}>{p.provider ? enumText(t, ProviderSchema, p.provider) : ""}</Field>
          <Field label={t("payments.channel")}>{p.channelId}</Field>
          <Field label={t("payments.pgTransaction")}>{p.pgTransactionId}</Field>
          <Field label={t("payments.customer")}>
            {[p.customer?.name, p.customer?.email, p.customer?.phone].filter(Boolean).join(" · ")}
          </Field>
          <Field label={t("common.created")}>
            <Time t={p.createTime} />
          </Field>
          <Field label={t("payments.paidAt")}>
            <Time t={p.paidTime} />
          </Field>
          {p.card && (
            <Field label={t("payments.card")}>
              {[p.card.number, p.card.issuer, p.card.type, p.card.approvalNumber].filter(Boolean).join(" · ")}
            </Field>
          )}
          {p.virtualAccount && (
            <Field label={t("payments.virtualAccount")}>
              {[p.virtualAccount.bank, p.virtualAccount.accountNumber, p.virtualAccount.holder].filter(Boolean).join(" · ")}
            </Field>
          )}
          {p.bankTransfer && (
            <Field label={t("payments.bankTransfer")}>
              {[p.bankTransfer.bank, p.bankTransfer.accountNumber, p.bankTransfer.depositorName].filter(Boolean).join(" · ")}
            </Field>
          )}
          {p.receiptUrl && (
            <Field label={t("payments.receipt")}>
              <Anchor href={p.receiptUrl} target="_blank" rel="noopener noreferrer">
                {t("payments.openReceipt")}
              </Anchor>
            </Field>
          )}
        </SimpleGrid>
        {p.failure && (p.failure.reason || p.failure.message) && (
          <Alert color="red" mt="md" title={p.failure.reason}>
            {p.failure.message}
            {p.failure.pgCode && ` (${p.failure.pgCode} ${p.failure.pgMessage})`}
          </Alert>
        )}
      </Paper>

      <Title order={3} size="h4">
        {t("payments.amounts")}
      </Title>
      <Paper withBorder p="md" data-testid="payment-amounts">
        <SimpleGrid cols={{ base: 2, sm: 3, md: 5 }}>
          <Field label={t("payments.total")}><Money amount={a?.total} currency={cur} /></Field>
          <Field label={t("payments.supply")}><Money amount={a?.supply} currency={cur} /></Field>
          <Field label={t("payments.vat")}><Money amount={a?.vat} currency={cur} /></Field>
          <Field label={t("payments.taxFree")}><Money amount={a?.taxFree} currency={cur} /></Field>
          <Field label={t("payments.paid")}><Money amount={a?.paid} currency={cur} /></Field>
          <Field label={t("payments.cancelledAmount")}><Money amount={a?.cancelled} currency={cur} /></Field>
          <Field label={t("payments.cancellable")}>
            <span data-testid="payment-cancellable"><Money amount={a?.cancellable} currency={cur} /></span>
          </Field>
        </SimpleGrid>
      </Paper>

      <Title order={3} size="h4">
        {t("payments.cancellations")}
      </Title>
      <DataTable
        testId="payment-cancellations"
        minWidth={700}
        empty={p.cancellations.length === 0}
        head={[t("common.time"), t("payments.amount"), t("common.status"), t("payments.cancelReason"), t("payments.refund")]}
      >
        {p.cancellations.map((c) => (
          <Table.Tr key={c.id}>
            <Table.Td><Time t={c.cancelTime ?? c.requestTime} /></Table.Td>
            <Table.Td><Money amount={c.amount} currency={cur} /></Table.Td>
            <Table.Td>
              {enumText(t, CancellationStatusSchema, c.status)}
              {c.failure?.message && <Text size="xs" c="red">{c.failure.message}</Text>}
            </Table.Td>
            <Table.Td>{c.reason}</Table.Td>
            <Table.Td>{c.refundStatus ? enumText(t, RefundStatusSchema, c.refundStatus) : ""}</Table.Td>
          </Table.Tr>
        ))}
      </DataTable>

      <Title order={3} size="h4">
        {t("payments.history")}
      </Title>
      <DataTable
        testId="payment-history"
        minWidth={500}
        empty={p.statusHistory.length === 0}
        head={[t("common.time"), t("payments.from"), t("payments.to"), t("payments.event")]}
      >
        {p.statusHistory.map((h, i) => (
          <Table.Tr key={i}>
            <Table.Td><Time t={h.time} /></Table.Td>
            <Table.Td>{enumText(t, PaymentStatusSchema, h.from)}</Table.Td>
            <Table.Td>{enumText(t, PaymentStatusSchema, h.to)}</Table.Td>
            <Table.Td ff="monospace">{h.eventId}</Table.Td>
          </Table.Tr>
        ))}
      </DataTable>

      <Title order={3} size="h4">
        {t("payments.timeline")}
      </Title>
      {canTimeline ? <Timeline paymentId={p.id} /> : <RoleNote need={t("role.developer")} />}
      {cancelling && <CancelModal payment={p} opened={cancelling} onClose={() => setCancelling(false)} />}
    </Stack>
  );
}
