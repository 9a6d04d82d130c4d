// IP security (IP보안): the store's allowed address ranges, with a check of
// what each change does to the person making it, and IP TEST.
import { useState } from "react";
import { Alert, Badge, Button, Checkbox, Group, Paper, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { IPRuleService } from "@paymux/client";
import type { IPRule, TestIPRulesResponse } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan, useConsole } from "../api/session";
import { ConfirmModal, DataTable, ErrorAlert, Loading, PageHeader, RoleNote, Time } from "../components/common";
import { looksLikeCIDR, needsExplicitConfirm, rulesAfterAdd, rulesAfterDelete, shutOutCheck } from "../lib/ip";
import type { ShutOut } from "../lib/ip";

function ShutOutWarning({ check, testId }: { check: ShutOut; testId: string }) {
  const { t } = useTranslation();
  if (check.kind === "ok") return null;
  return (
    <Alert color="red" title={t("ip.shutOutTitle")} data-testid={testId} role="alert">
      {check.kind === "shut-out" ? t("ip.shutOutBody", { ip: check.ip }) : t("ip.unknownBody")}
    </Alert>
  );
}

interface Pending {
  kind: "add" | "delete";
  rule?: IPRule;
  cidr?: string;
  description?: string;
  check: ShutOut;
}

function IPTest() {
  const { t } = useTranslation();
  const { storeId } = useConsole();
  const [ip, setIp] = useState("");
  const [result, setResult] = useState<TestIPRulesResponse>();
  const test = useAction(async (addr: string) => {
    const r = await client(IPRuleService).testIPRules({ storeId, ip: addr.trim() });
    setResult(r);
    return r;
  });
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="xs">
        {t("ip.testTitle")}
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          test.mutate(ip);
        }}
      >
        <Group align="end">
          <TextInput
            label={t("ip.testAddress")}
            placeholder={t("ip.testPlaceholder")}
            value={ip}
            onChange={(e) => setIp(e.currentTarget.value)}
            data-testid="ip-test-input"
            style={{ flex: 1, minWidth: 200 }}
          />
          <Button type="submit" loading={test.isPending} data-testid="ip-test-run">
            {t("ip.test")}
          </Button>
        </Group>
      </form>
      <ErrorAlert error={test.error} testId="ip-test-error" />
      {result && (
        <Alert
          mt="sm"
          color={result.allowed ? "green" : "red"}
          data-testid="ip-test-result"
          data-allowed={result.allowed ? "true" : "false"}
          title={result.allowed ? t("ip.allowed", { ip: result.ip }) : t("ip.blocked", { ip: result.ip })}
        >
          <Text size="sm">
            {result.ruleCount === 0
              ? t("ip.noRules")
              : result.matchedRule
                ? t("ip.matched", { cidr: result.matchedRule.cidr, n: result.ruleCount })
                : t("ip.noMatch", { n: result.ruleCount })}
          </Text>
        </Alert>
      )}
    </Paper>
  );
}

export default function IPRulesPage() {
  const { t } = useTranslation();
  const { storeId } = useConsole();
  const canChange = useCan(IPRuleService.method.createIPRule);
  const rules = useStoreQuery(["ip-rules"], (storeId) => client(IPRuleService).listIPRules({ storeId, pageSize: 100 }));
  const [cidr, setCidr] = useState("");
  const [description, setDescription] = useState("");
  const [pending, setPending] = useState<Pending>();
  const [understood, setUnderstood] = useState(false);
  const [lastAdd, setLastAdd] = useState<{ callerIp: string; callerAllowed: boolean }>();

  const saved = rules.data?.rules ?? [];

  async function check(candidate: string[]): Promise<ShutOut> {
    try {
      const r = await client(IPRuleService).testIPRules({ storeId, candidateRules: { cidrs: candidate } });
      return shutOutCheck(r);
    } catch {
      return shutOutCheck(undefined);
    }
  }

  const add = useAction(
    async (p: Pending) => {
      const r = await client(IPRuleService).createIPRule({ storeId, cidr: p.cidr!.trim(), description: p.description ?? "" });
      setLastAdd({ callerIp: r.callerIp, callerAllowed: r.callerAllowed });
      return r.rule;
    },
    { invalidate: [["ip-rules"]], success: t("ip.added") },
  );
  const del = useAction((p: Pending) => client(IPRuleService).deleteIPRule({ id: p.rule!.id }), {
    invalidate: [["ip-rules"]],
    success: t("ip.deleted"),
  });

  const prepare = useAction(async (p: Omit<Pending, "check">) => {
    const candidate =
      p.kind === "add" ? rulesAfterAdd(saved.map((r) => r.cidr), p.cidr ?? "") : rulesAfterDelete(saved, p.rule!.id);
    const c = await check(candidate);
    if (p.kind === "add" && !needsExplicitConfirm(c)) {
      // The caller stays in: add at once.
      await add.mutateAsync({ ...p, check: c });
      setCidr("");
      setDescription("");
      return c;
    }
    setUnderstood(false);
    setPending({ ...p, check: c });
    return c;
  });

  function startAdd() {
    if (!looksLikeCIDR(cidr)) return;
    prepare.mutate({ kind: "add", cidr: cidr.trim(), description: description.trim() });
  }

  const explicit = pending ? needsExplicitConfirm(pending.check) : false;
  const action = pending?.kind === "delete" ? del : add;

  return (
    <Stack>
      <PageHeader title={t("nav.ipRules")} />
      <Text size="sm" c="dimmed">
        {t("ip.intro")}
      </Text>
      {lastAdd && (
        <Alert
          color={lastAdd.callerAllowed ? "green" : "red"}
          data-testid="ip-rule-caller-status"
          withCloseButton
          onClose={() => setLastAdd(undefined)}
        >
          {lastAdd.callerAllowed
            ? t("ip.callerStillAllowed", { ip: lastAdd.callerIp })
            : t("ip.callerShutOut", { ip: lastAdd.callerIp })}
        </Alert>
      )}
      {canChange ? (
        <Paper withBorder p="md">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              startAdd();
            }}
          >
            <Group align="end">
              <TextInput
                label={t("ip.cidr")}
                placeholder="203.0.113.0/24"
                required
                value={cidr}
                onChange={(e) => setCidr(e.currentTarget.value)}
                error={cidr !== "" && !looksLikeCIDR(cidr) ? t("ip.badCidr") : undefined}
                data-testid="ip-rule-cidr"
                style={{ minWidth: 200 }}
              />
              <TextInput
                label={t("common.description")}
                value={description}
                maxLength={200}
                onChange={(e) => setDescription(e.currentTarget.value)}
                data-testid="ip-rule-description"
                style={{ flex: 1, minWidth: 200 }}
              />
              <Button type="submit" loading={prepare.isPending || add.isPending} data-testid="ip-rule-add">
                {t("ip.add")}
              </Button>
            </Group>
          </form>
          <ErrorAlert error={pending ? undefined : (add.error ?? prepare.error)} testId="ip-rule-add-error" />
        </Paper>
      ) : (
        <RoleNote need={t("role.admin")} />
      )}

      {rules.isPending ? (
        <Loading />
      ) : rules.isError ? (
        <ErrorAlert error={rules.error} />
      ) : (
        <>
          {saved.length === 0 ? (
            <Badge color="gray" variant="light" data-testid="ip-rules-none">
              {t("ip.noRulesBadge")}
            </Badge>
          ) : null}
          <DataTable
            testId="ip-rules-table"
            minWidth={560}
            empty={saved.length === 0}
            head={[t("ip.cidr"), t("common.description"), t("common.created"), t("common.actions")]}
          >
            {saved.map((r) => (
              <Table.Tr key={r.id} data-testid="ip-rule-row" data-id={r.id}>
                <Table.Td ff="monospace">{r.cidr}</Table.Td>
                <Table.Td>{r.description}</Table.Td>
                <Table.Td>
                  <Time t={r.createTime} />
                </Table.Td>
                <Table.Td>
                  <Button
                    size="xs"
                    color="red"
                    variant="light"
                    disabled={!canChange}
                    loading={prepare.isPending && prepare.variables?.rule?.id === r.id}
                    onClick={() => prepare.mutate({ kind: "delete", rule: r })}
                    data-testid="ip-rule-delete"
                  >
                    {t("common.delete")}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
        </>
      )}

      <IPTest />

      <ConfirmModal
        opened={!!pending}
        title={pending?.kind === "delete" ? t("ip.deleteTitle") : t("ip.addTitle")}
        confirmLabel={pending?.kind === "delete" ? t("common.delete") : t("ip.addAnyway")}
        busy={action.isPending}
        error={action.error}
        disabled={explicit && !understood}
        onClose={() => {
          setPending(undefined);
          add.reset();
          del.reset();
        }}
        onConfirm={() => {
          if (!pending) return;
          const done = {
            onSuccess: () => {
              setPending(undefined);
              if (pending.kind === "add") {
                setCidr("");
                setDescription("");
              }
            },
          };
          if (pending.kind === "delete") del.mutate(pending, done);
          else add.mutate(pending, done);
        }}
        testId={pending?.kind === "delete" ? "ip-rule-delete-modal" : "ip-rule-add-modal"}
      >
        {pending && (
          <Stack>
            <Text size="sm">
              {pending.kind === "delete"
                ? t("ip.deleteBody", { cidr: pending.rule?.cidr ?? "" })
                : t("ip.addBody", { cidr: pending.cidr ?? "" })}
            </Text>
            <ShutOutWarning check={pending.check} testId="ip-rule-warning" />
            {explicit && (
              <Checkbox
                label={t("ip.understand")}
                checked={understood}
                onChange={(e) => setUnderstood(e.currentTarget.checked)}
                data-testid="ip-rule-understand"
              />
            )}
          </Stack>
        )}
      </ConfirmModal>
    </Stack>
  );
}
