// Payments: search by order number, status, method and time; a test payment
// through the store's TEST default channel.
import { useState } from "react";
import { Alert, Anchor, Button, Group, Modal, Paper, SimpleGrid, Stack, Table, Text, TextInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import {
  ApprovalModel,
  ApprovalModelSchema,
  ChannelPurpose,
  ChannelService,
  Mode,
  PayMethod,
  PayMethodSchema,
  PaymentService,
  PaymentStatusSchema,
} from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan, useConsole } from "../api/session";
import { CopyField, DataTable, ErrorAlert, Loading, Money, PageHeader, Pager, Time, usePager } from "../components/common";
import { EnumSelect, KSTInput } from "../components/forms";
import { enumText } from "../components/labels";
import { PaymentStatusBadge } from "../components/status";
import { ModeBadge } from "./Keys";
import { parseAmount } from "../lib/format";
import {
  emptyPaymentFilter,
  listPaymentsRequest,
  paymentFilterFromParams,
  paymentFilterToParams,
  testOrderId,
} from "../lib/query";
import type { PaymentFilter } from "../lib/query";

function TestPaymentModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { storeId } = useConsole();
  const [orderName, setOrderName] = useState(() => t("payments.testOrderName"));
  const [amount, setAmount] = useState("1000");
  // The window approves by itself (client approval), so the payment ends PAID
  // with no server of the merchant's; server approval waits for ConfirmPayment.
  const [approval, setApproval] = useState(String(ApprovalModel.CLIENT));
  const [checkoutUrl, setCheckoutUrl] = useState("");
  const [opener, setOpener] = useState<Window | null>(null);
  const parsed = parseAmount(amount);
  const create = useAction(
    async (w: Window | null) => {
      const chs = await client(ChannelService).listChannels({
        storeId,
        mode: Mode.TEST,
        purpose: ChannelPurpose.PAYMENT,
        pageSize: 100,
      });
      const ch = chs.channels.find((c) => c.default && !c.archiveTime);
      if (!ch) throw new Error(t("payments.noTestChannel"));
      const orderId = testOrderId();
      const r = await client(PaymentService).createPayment({
        storeId,
        channelId: ch.id,
        merchantPaymentId: orderId,
        // The window sends the buyer back here, to the payment found by its
        // order number.
        returnUrl: `${window.location.origin}/console/payments?q=${encodeURIComponent(orderId)}`,
        orderName: orderName.trim(),
        amount: { total: parsed! },
        method: PayMethod.CARD,
        approvalModel: Number(approval),
      });
      const url = r.window?.checkoutUrl ?? "";
      setCheckoutUrl(url);
      if (url && w) w.location.href = url;
      else w?.close();
      return r.payment;
    },
    { invalidate: [["payments"]] },
  );
  function close() {
    opener?.close();
    setOpener(null);
    setCheckoutUrl("");
    create.reset();
    onClose();
  }
  return (
    <Modal opened={opened} onClose={close} title={t("payments.test")} data-testid="payment-test-modal">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!parsed) return;
          // Open the tab now, while the click still counts as the user's, and
          // point it at the checkout once paymux answers.
          const w = window.open("about:blank", "_blank");
          if (w) w.opener = null;
          setOpener(null);
          create.mutate(w, { onError: () => w?.close() });
        }}
      >
        <Stack>
          <Text size="sm" c="dimmed">
            {t("payments.testHelp")}
          </Text>
          <TextInput
            label={t("payments.orderName")}
            required
            maxLength={200}
            value={orderName}
            onChange={(e) => setOrderName(e.currentTarget.value)}
            data-testid="payment-test-order-name"
          />
          <TextInput
            label={t("payments.amount")}
            required
            inputMode="numeric"
            value={amount}
            onChange={(e) => setAmount(e.currentTarget.value)}
            error={amount !== "" && !parsed ? t("payments.badAmount") : undefined}
            rightSection={<Text size="sm">{t("payments.won")}</Text>}
            data-testid="payment-test-amount"
          />
          <EnumSelect
            schema={ApprovalModelSchema}
            label={t("keys.approvalModel")}
            value={approval}
            onChange={setApproval}
            testId="payment-test-approval-model"
          />
          <Text size="xs" c="dimmed">
            {t("payments.testApprovalHelp")}
          </Text>
          <ErrorAlert error={create.error} testId="payment-test-error" />
          {checkoutUrl && (
            <Alert color="green" data-testid="payment-test-result">
              <Stack gap="xs">
                <Text size="sm">{t("payments.testOpened")}</Text>
                <Anchor href={checkoutUrl} target="_blank" rel="noopener noreferrer" data-testid="payment-test-checkout-url">
                  {t("payments.openCheckout")}
                </Anchor>
                <CopyField label="checkoutUrl" value={checkoutUrl} testId="payment-test-url" />
              </Stack>
            </Alert>
          )}
          <Group justify="end">
            <Button variant="default" onClick={close}>
              {t("common.close")}
            </Button>
            <Button type="submit" loading={create.isPending} disabled={!parsed} data-testid="payment-test-submit">
              {t("payments.testSubmit")}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function PaymentsPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const applied = paymentFilterFromParams(params);
  const [form, setForm] = useState<PaymentFilter>(applied);
  const pager = usePager();
  const canTest = useCan(PaymentService.method.createPayment);
  const [testing, setTesting] = useState(false);
  const list = useStoreQuery(["payments", applied, pager.token], (storeId) =>
    client(PaymentService).listPayments(listPaymentsRequest(storeId, applied, pager.token)),
  );
  const set = (k: keyof PaymentFilter) => (v: string) => setForm((f) => ({ ...f, [k]: v }));

  return (
    <Stack>
      <PageHeader title={t("nav.payments")}>
        {canTest && (
          <Button onClick={() => setTesting(true)} data-testid="payment-test">
            {t("payments.test")}
          </Button>
        )}
      </PageHeader>
      <Paper withBorder p="md">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            pager.reset();
            setParams(paymentFilterToParams(form));
          }}
          data-testid="payment-search-form"
        >
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 5 }}>
            <TextInput
              label={t("payments.searchOrder")}
              placeholder={t("payments.searchOrderPlaceholder")}
              value={form.query}
              onChange={(e) => set("query")(e.currentTarget.value)}
              data-testid="payment-search-order"
            />
            <EnumSelect
              schema={PaymentStatusSchema}
              label={t("common.status")}
              value={form.status}
              onChange={set("status")}
              testId="payment-search-status"
              allowAny
            />
            <EnumSelect
              schema={PayMethodSchema}
              label={t("payments.method")}
              value={form.method}
              onChange={set("method")}
              testId="payment-search-method"
              allowAny
            />
            <KSTInput label={t("common.from")} value={form.from} onChange={set("from")} testId="payment-search-from" />
            <KSTInput label={t("common.to")} value={form.to} onChange={set("to")} testId="payment-search-to" />
          </SimpleGrid>
          <Group justify="end" mt="sm">
            <Button
              variant="default"
              onClick={() => {
                setForm(emptyPaymentFilter);
                pager.reset();
                setParams(new URLSearchParams());
              }}
              data-testid="payment-search-reset"
            >
              {t("common.reset")}
            </Button>
            <Button type="submit" data-testid="payment-search-submit">
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
            testId="payments-table"
            minWidth={900}
            empty={list.data.payments.length === 0}
            head={[
              t("common.created"),
              t("payments.orderNumber"),
              t("payments.orderName"),
              t("payments.method"),
              t("common.status"),
              t("payments.amount"),
              t("common.mode"),
            ]}
          >
            {list.data.payments.map((p) => (
              <Table.Tr key={p.id} data-testid="payment-row" data-id={p.id}>
                <Table.Td>
                  <Time t={p.createTime} />
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/payments/${encodeURIComponent(p.id)}`} ff="monospace" size="sm" data-testid="payment-link">
                    {p.merchantPaymentId}
                  </Anchor>
                </Table.Td>
                <Table.Td data-testid="payment-order-name">{p.orderName}</Table.Td>
                <Table.Td>{enumText(t, PayMethodSchema, p.method)}</Table.Td>
                <Table.Td>
                  <PaymentStatusBadge status={p.status} />
                </Table.Td>
                <Table.Td>
                  <Money amount={p.amounts?.total} currency={p.currency} />
                </Table.Td>
                <Table.Td>
                  <ModeBadge mode={p.mode} />
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
          <Pager pager={pager} nextToken={list.data.nextPageToken} testId="payments-pager" />
          <Text size="xs" c="dimmed">
            {t("common.timeZoneNote")}
          </Text>
        </>
      )}
      {testing && <TestPaymentModal opened={testing} onClose={() => setTesting(false)} />}
    </Stack>
  );
}
