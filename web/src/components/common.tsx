// Small building blocks shared by the pages.
import { useState } from "react";
import type { ReactNode } from "react";
import {
  Alert,
  Button,
  Code,
  CopyButton,
  Group,
  Loader,
  Modal,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useTranslation } from "react-i18next";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { describeError } from "../lib/errors";
import { formatKST, formatMoney, prettyJSON } from "../lib/format";
import type { Lang } from "../lib/format";

export function useLang(): Lang {
  const { i18n } = useTranslation();
  return i18n.language === "en" ? "en" : "ko";
}

/** ErrorAlert shows a failed call: what kind of failure, and the server's message as text. */
export function ErrorAlert({ error, testId = "error" }: { error: unknown; testId?: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  const v = describeError(error);
  return (
    <Alert color="red" title={t(v.titleKey)} data-testid={testId} role="alert">
      <Stack gap={4}>
        {v.message && <Text size="sm">{v.message}</Text>}
        {v.reason && (
          <Text size="xs" c="dimmed">
            {v.reason}
          </Text>
        )}
        {v.fields.map((f) => (
          <Text size="xs" key={f}>
            {f}
          </Text>
        ))}
      </Stack>
    </Alert>
  );
}

export function Money({ amount, currency }: { amount: bigint | number | string | undefined; currency?: string }) {
  const lang = useLang();
  return <span style={{ fontVariantNumeric: "tabular-nums" }}>{formatMoney(amount ?? 0n, lang, currency || "KRW")}</span>;
}

export function Time({ t, fallback = "-" }: { t: Timestamp | Date | undefined; fallback?: string }) {
  const s = formatKST(t);
  return <span style={{ whiteSpace: "nowrap" }}>{s || fallback}</span>;
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Group justify="space-between" mb="md" wrap="wrap" gap="sm">
      <Title order={2}>{title}</Title>
      {children && <Group gap="xs">{children}</Group>}
    </Group>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <Group gap="xs" p="md" role="status">
      <Loader size="sm" />
      <Text size="sm">{t("common.loading")}</Text>
    </Group>
  );
}

/** DataTable wraps a table so it scrolls sideways on a phone. */
export function DataTable({
  testId,
  head,
  children,
  empty,
  minWidth = 720,
}: {
  testId: string;
  head: ReactNode[];
  children: ReactNode;
  empty?: boolean;
  minWidth?: number;
}) {
  const { t } = useTranslation();
  return (
    <Table.ScrollContainer minWidth={minWidth}>
      <Table striped highlightOnHover data-testid={testId} verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            {head.map((h, i) => (
              <Table.Th key={i}>{h}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {empty ? (
            <Table.Tr>
              <Table.Td colSpan={head.length}>
                <Text c="dimmed" size="sm" data-testid={`${testId}-empty`}>
                  {t("common.empty")}
                </Text>
              </Table.Td>
            </Table.Tr>
          ) : (
            children
          )}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** CopyField shows a value read-only with a copy button. */
export function CopyField({ label, value, testId }: { label: string; value: string; testId: string }) {
  const { t } = useTranslation();
  return (
    <Group align="end" gap="xs" wrap="nowrap">
      <TextInput
        label={label}
        value={value}
        readOnly
        data-testid={testId}
        style={{ flex: 1 }}
        styles={{ input: { fontFamily: "monospace" } }}
        onFocus={(e) => e.currentTarget.select()}
      />
      <CopyButton value={value}>
        {({ copied, copy }) => (
          <Button variant="light" onClick={copy} data-testid={`${testId}-copy`}>
            {copied ? t("common.copied") : t("common.copy")}
          </Button>
        )}
      </CopyButton>
    </Group>
  );
}

/**
 * SecretOnceModal shows a secret that is never shown again. The secret lives
 * only in the caller's state, which must drop it on close.
 */
export function SecretOnceModal({
  opened,
  title,
  secret,
  label,
  extra,
  onClose,
  testId = "secret-modal",
  secretTestId = "key-secret",
}: {
  opened: boolean;
  title: string;
  secret: string;
  label: string;
  extra?: ReactNode;
  onClose: () => void;
  testId?: string;
  secretTestId?: string;
}) {
  const { t } = useTranslation();
  return (
    <Modal opened={opened} onClose={onClose} title={title} size="lg" data-testid={testId} closeOnClickOutside={false}>
      <Stack>
        <Alert color="yellow" title={t("secret.onceTitle")}>
          {t("secret.onceBody")}
        </Alert>
        {extra}
        <CopyField label={label} value={secret} testId={secretTestId} />
        <Group justify="end">
          <Button onClick={onClose} data-testid={`${testId}-close`}>
            {t("secret.stored")}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** ConfirmModal asks before an action that cannot be undone, spelling out what happens. */
export function ConfirmModal({
  opened,
  title,
  children,
  confirmLabel,
  danger = true,
  busy,
  error,
  disabled,
  onConfirm,
  onClose,
  testId,
}: {
  opened: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: unknown;
  disabled?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  testId: string;
}) {
  const { t } = useTranslation();
  return (
    <Modal opened={opened} onClose={onClose} title={title} data-testid={testId}>
      <Stack>
        {children}
        <ErrorAlert error={error} testId={`${testId}-error`} />
        <Group justify="end">
          <Button variant="default" onClick={onClose} data-testid={`${testId}-cancel`}>
            {t("common.cancel")}
          </Button>
          <Button
            color={danger ? "red" : undefined}
            loading={busy}
            disabled={disabled}
            onClick={onConfirm}
            data-testid={`${testId}-confirm`}
          >
            {confirmLabel}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** Pre shows a text (a body, JSON) as text, never as markup. */
export function Pre({ text, testId }: { text: string; testId?: string }) {
  const { t } = useTranslation();
  if (!text) return <Text c="dimmed" size="sm">{t("common.none")}</Text>;
  return (
    <Code block data-testid={testId} style={{ whiteSpace: "pre-wrap", wordBreak: "break-all", maxHeight: 480, overflow: "auto" }}>
      {prettyJSON(text)}
    </Code>
  );
}

/** Headers shows a header map as text lines. */
export function Headers({ headers }: { headers: Record<string, string> | undefined }) {
  const lines = Object.entries(headers ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
  return <Pre text={lines} />;
}

/** Pager moves through a list with page tokens. */
export function usePager() {
  const [tokens, setTokens] = useState<string[]>([""]);
  const token = tokens[tokens.length - 1];
  return {
    token,
    page: tokens.length,
    reset: () => setTokens([""]),
    next: (t: string) => setTokens((s) => [...s, t]),
    prev: () => setTokens((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

export function Pager({
  pager,
  nextToken,
  testId = "pager",
}: {
  pager: ReturnType<typeof usePager>;
  nextToken: string | undefined;
  testId?: string;
}) {
  const { t } = useTranslation();
  if (pager.page === 1 && !nextToken) return null;
  return (
    <Group justify="center" mt="sm">
      <Button variant="default" size="xs" disabled={pager.page === 1} onClick={pager.prev} data-testid={`${testId}-prev`}>
        {t("common.prev")}
      </Button>
      <Text size="sm">{pager.page}</Text>
      <Button
        variant="default"
        size="xs"
        disabled={!nextToken}
        onClick={() => nextToken && pager.next(nextToken)}
        data-testid={`${testId}-next`}
      >
        {t("common.next")}
      </Button>
    </Group>
  );
}

/** RoleNote explains why an action is not offered. */
export function RoleNote({ need }: { need: string }) {
  const { t } = useTranslation();
  return (
    <Text size="xs" c="dimmed" data-testid="role-note">
      {t("role.needs", { role: need })}
    </Text>
  );
}
