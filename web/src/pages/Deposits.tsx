// Bank transfers (무통장입금): the store's bank accounts, the deposits seen on
// them, and manual matching of a deposit to an order.
import { useState } from "react";
import { Anchor, Badge, Button, Group, Paper, Stack, Table, Tabs, Text, TextInput, NativeSelect } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import {
  DepositService,
  DepositStatus,
  DepositStatusSchema,
  DepositTypeSchema,
  MatchTypeSchema,
  Mode,
  ModeSchema,
  PaymentService,
} from "@paymux/client";
import type { Deposit } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan, useConsole } from "../api/session";
import { ConfirmModal, DataTable, ErrorAlert, Loading, Money, PageHeader, Pager, Time, useLang, usePager } from "../components/common";
import { EnumSelect } from "../components/forms";
import { enumText } from "../components/labels";
import { ModeBadge } from "./Keys";
import { formatMoney } from "../lib/format";

function AddAccount() {
  const { t } = useTranslation();
  const { storeId } = useConsole();
  const [mode, setMode] = useState(String(Mode.TEST));
  const [bank, setBank] = useState("");
  const [number, setNumber] = useState("");
  const [holder, setHolder] = useState("");
  const [description, setDescription] = useState("");
  const add = useAction(
    () =>
      client(DepositService).createBankAccount({
        storeId,
        mode: Number(mode),
        bank: bank.trim(),
        accountNumber: number.trim(),
        holder: holder.trim(),
        description: description.trim(),
      }),
    { invalidate: [["bank-accounts"]], success: t("deposits.accountAdded") },
  );
  return (
    <Paper withBorder p="md">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate(undefined, {
            onSuccess: () => {
              setBank("");
              setNumber("");
              setHolder("");
              setDescription("");
            },
          });
        }}
      >
        <Group align="end">
          <EnumSelect schema={ModeSchema} label={t("common.mode")} value={mode} onChange={setMode} testId="bank-account-mode" />
          <TextInput label={t("deposits.bankCode")} placeholder="004" required maxLength={3} value={bank} onChange={(e) => setBank(e.currentTarget.value)} data-testid="bank-account-bank" w={90} />
          <TextInput label={t("payments.accountNumber")} required value={number} onChange={(e) => setNumber(e.currentTarget.value)} data-testid="bank-account-number" />
          <TextInput label={t("payments.holder")} required value={holder} onChange={(e) => setHolder(e.currentTarget.value)} data-testid="bank-account-holder" />
          <TextInput label={t("common.description")} value={description} onChange={(e) => setDescription(e.currentTarget.value)} data-testid="bank-account-description" />
          <Button type="submit" loading={add.isPending} data-testid="bank-account-add">
            {t("deposits.addAccount")}
          </Button>
        </Group>
      </form>
      <ErrorAlert error={add.error} testId="bank-account-add-error" />
    </Paper>
  );
}

function Accounts() {
  const { t } = useTranslation();
  const canAdd = useCan(DepositService.method.createBankAccount);
  const list = useStoreQuery(["bank-accounts"], (storeId) =>
    client(DepositService).listBankAccounts({ storeId, includeArchived: true }),
  );
  if (list.isPending) return <Loading />;
  if (list.isError) return <ErrorAlert error={list.error} />;
  return (
    <Stack>
    {canAdd && <AddAccount />}
    <DataTable
      testId="bank-accounts-table"
      minWidth={700}
      empty={list.data.bankAccounts.length === 0}
      head={[t("deposits.bank"), t("payments.accountNumber"), t("payments.holder"), t("common.mode"), t("common.description"), t("common.status")]}
    >
      {list.data.bankAccounts.map((a) => (
        <Table.Tr key={a.id} data-testid="bank-account-row" data-id={a.id}>
          <Table.Td>{a.bank}</Table.Td>
          <Table.Td ff="monospace">{a.accountNumber}</Table.Td>
          <Table.Td>{a.holder}</Table.Td>
          <Table.Td><ModeBadge mode={a.mode} /></Table.Td>
          <Table.Td>{a.description}</Table.Td>
          <Table.Td>{a.archived ? t("channels.archived") : ""}</Table.Td>
        </Table.Tr>
      ))}
    </DataTable>
    </Stack>
  );
}

function DepositsList() {
  const { t } = useTranslation();
  const lang = useLang();
  const { storeId } = useConsole();
  const [params] = useSearchParams();
  const canMatch = useCan(DepositService.method.matchDeposit);
  const [status, setStatus] = useState(params.get("status") === "unmatched" ? String(DepositStatus.UNMATCHED) : "");
  const [account, setAccount] = useState("");
  const [applied, setApplied] = useState({ status, account });
  const pager = usePager();
  const accounts = useStoreQuery(["bank-accounts"], (storeId) =>
    client(DepositService).listBankAccounts({ storeId, includeArchived: true }),
  );
  const list = useStoreQuery(["deposits", applied, pager.token], (storeId) =>
    client(DepositService).listDeposits({
      storeId,
      bankAccountId: applied.account,
      statuses: applied.status ? [Number(applied.status)] : [],
      pageSize: 50,
      pageToken: pager.token,
    }),
  );
  const [matching, setMatching] = useState<Deposit>();
  const [target, setTarget] = useState("");
  const [unmatching, setUnmatching] = useState<Deposit>();
  const match = useAction(
    async (d: Deposit) => {
      const v = target.trim();
      // An order number or a paymux payment id.
      let paymentId = v;
      if (!v.startsWith("pay_")) {
        const p = await client(PaymentService).getPayment({ merchantPaymentId: v, storeId });
        paymentId = p.payment?.id ?? "";
      }
      return client(DepositService).matchDeposit({ id: d.id, paymentId });
    },
    { invalidate: [["deposits"], ["payments"]], success: t("deposits.matched") },
  );
  const unmatch = useAction((d: Deposit) => client(DepositService).unmatchDeposit({ id: d.id }), {
    invalidate: [["deposits"], ["payments"]],
    success: t("deposits.unmatched"),
  });
  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          pager.reset();
          setApplied({ status, account });
        }}
      >
        <Group align="end">
          <EnumSelect schema={DepositStatusSchema} label={t("common.status")} value={status} onChange={setStatus} testId="deposit-filter-status" allowAny />
          <NativeSelect
            label={t("deposits.account")}
            value={account}
            onChange={(e) => setAccount(e.currentTarget.value)}
            data={[
              { value: "", label: t("common.all") },
              ...(accounts.data?.bankAccounts ?? []).map((a) => ({ value: a.id, label: `${a.bank} ${a.accountNumber}` })),
            ]}
            data-testid="deposit-filter-account"
          />
          <Button type="submit" data-testid="deposit-search">{t("common.search")}</Button>
        </Group>
      </form>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <>
          <DataTable
            testId="deposits-table"
            minWidth={1000}
            empty={list.data.deposits.length === 0}
            head={[t("deposits.transactionTime"), t("deposits.depositor"), t("payments.amount"), t("deposits.type"), t("common.status"), t("payments.orderNumber"), t("common.actions")]}
          >
            {list.data.deposits.map((d) => (
              <Table.Tr key={d.id} data-testid="deposit-row" data-id={d.id}>
                <Table.Td><Time t={d.transactionTime} /></Table.Td>
                <Table.Td>{d.depositorName}</Table.Td>
                <Table.Td><Money amount={d.amount} /></Table.Td>
                <Table.Td>{enumText(t, DepositTypeSchema, d.type)}</Table.Td>
                <Table.Td>
                  <Badge variant="light" color={d.status === DepositStatus.UNMATCHED ? "orange" : d.status === DepositStatus.MATCHED ? "green" : "gray"}>
                    {enumText(t, DepositStatusSchema, d.status)}
                  </Badge>
                  {d.matchType ? <Text size="xs">{enumText(t, MatchTypeSchema, d.matchType)}</Text> : null}
                  {d.unmatchedReason && <Text size="xs" c="dimmed">{d.unmatchedReason}</Text>}
                </Table.Td>
                <Table.Td ff="monospace">
                  {d.paymentId ? (
                    <Anchor component={Link} to={`/payments/${encodeURIComponent(d.paymentId)}`} size="sm">{d.merchantPaymentId || d.paymentId}</Anchor>
                  ) : (
                    ""
                  )}
                </Table.Td>
                <Table.Td>
                  {d.status === DepositStatus.UNMATCHED && (
                    <Button size="xs" variant="light" disabled={!canMatch} onClick={() => { setTarget(""); setMatching(d); }} data-testid="deposit-match">
                      {t("deposits.match")}
                    </Button>
                  )}
                  {d.status === DepositStatus.MATCHED && (
                    <Button size="xs" variant="light" color="red" disabled={!canMatch} onClick={() => setUnmatching(d)} data-testid="deposit-unmatch">
                      {t("deposits.unmatch")}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
          <Pager pager={pager} nextToken={list.data.nextPageToken} testId="deposits-pager" />
        </>
      )}
      <ConfirmModal
        opened={!!matching}
        danger={false}
        title={t("deposits.matchTitle")}
        confirmLabel={t("deposits.match")}
        busy={match.isPending}
        error={match.error}
        disabled={target.trim() === ""}
        onClose={() => {
          setMatching(undefined);
          match.reset();
        }}
        onConfirm={() => matching && match.mutate(matching, { onSuccess: () => setMatching(undefined) })}
        testId="deposit-match-modal"
      >
        <Text size="sm">
          {t("deposits.matchBody", { name: matching?.depositorName ?? "", amount: formatMoney(matching?.amount ?? 0n, lang) })}
        </Text>
        <TextInput
          label={t("deposits.matchTarget")}
          placeholder="order-123 / pay_..."
          value={target}
          onChange={(e) => setTarget(e.currentTarget.value)}
          data-testid="deposit-match-order"
        />
      </ConfirmModal>
      <ConfirmModal
        opened={!!unmatching}
        title={t("deposits.unmatchTitle")}
        confirmLabel={t("deposits.unmatch")}
        busy={unmatch.isPending}
        error={unmatch.error}
        onClose={() => {
          setUnmatching(undefined);
          unmatch.reset();
        }}
        onConfirm={() => unmatching && unmatch.mutate(unmatching, { onSuccess: () => setUnmatching(undefined) })}
        testId="deposit-unmatch-modal"
      >
        <Text size="sm">{t("deposits.unmatchBody", { order: unmatching?.merchantPaymentId ?? "" })}</Text>
      </ConfirmModal>
    </Stack>
  );
}

export default function DepositsPage() {
  const { t } = useTranslation();
  const [tab, setTab] = useState<string | null>("deposits");
  return (
    <Stack>
      <PageHeader title={t("nav.deposits")} />
      <Paper p={0}>
        <Tabs value={tab} onChange={setTab}>
          <Tabs.List>
            <Tabs.Tab value="deposits" data-testid="deposits-tab-deposits">{t("deposits.deposits")}</Tabs.Tab>
            <Tabs.Tab value="accounts" data-testid="deposits-tab-accounts">{t("deposits.accounts")}</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="deposits" pt="md">{tab === "deposits" && <DepositsList />}</Tabs.Panel>
          <Tabs.Panel value="accounts" pt="md">{tab === "accounts" && <Accounts />}</Tabs.Panel>
        </Tabs>
      </Paper>
    </Stack>
  );
}
