import { useState } from "react";
import type { FormEvent } from "react";
import { Alert, Button, Center, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { AuthError } from "../api/auth";
import { useAuth } from "../api/session";
import { ErrorAlert } from "../components/common";
import { LangSwitch } from "../components/Layout";
import { formatKST } from "../lib/format";

export function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="lg" radius="md" w="100%" maw={420}>
        <Group justify="space-between" mb="md">
          <Title order={1} size="h3">
            {title}
          </Title>
          <LangSwitch />
        </Group>
        {children}
      </Paper>
    </Center>
  );
}

export default function SignInPage({ reason }: { reason?: "expired" | "signedOut" }) {
  const { t } = useTranslation();
  const { signIn } = useAuth();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(email.trim(), password);
    } catch (err) {
      setError(err);
      setPassword("");
    } finally {
      setBusy(false);
    }
  }

  let message: React.ReactNode = null;
  if (error instanceof AuthError && error.code === "locked") {
    message = (
      <Alert color="red" title={t("auth.lockedTitle")} data-testid="sign-in-error" role="alert">
        {t("auth.lockedBody", { until: error.lockedUntil ? formatKST(new Date(error.lockedUntil)) : "" })}
      </Alert>
    );
  } else if (error instanceof AuthError && error.code === "invalid_credentials") {
    message = (
      <Alert color="red" title={t("auth.invalidTitle")} data-testid="sign-in-error" role="alert">
        {t("auth.invalidBody")}
      </Alert>
    );
  } else if (error) {
    message = <ErrorAlert error={error} testId="sign-in-error" />;
  }

  return (
    <AuthFrame title={t("auth.signInTitle")}>
      <form onSubmit={submit} data-testid="sign-in-form">
        <Stack>
          {reason === "expired" && (
            <Alert color="yellow" data-testid="session-expired" role="status">
              {t("auth.expired")}
            </Alert>
          )}
          {message}
          <TextInput
            label={t("auth.email")}
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            data-testid="sign-in-email"
            autoFocus
          />
          <PasswordInput
            label={t("auth.password")}
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            data-testid="sign-in-password"
          />
          <Button type="submit" loading={busy} data-testid="sign-in-submit">
            {t("auth.signIn")}
          </Button>
          <Text size="xs" c="dimmed">
            {t("auth.signInHelp")}
          </Text>
        </Stack>
      </form>
    </AuthFrame>
  );
}
