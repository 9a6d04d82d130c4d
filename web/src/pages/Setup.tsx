// Setting a password from a one-time link: /console/setup#token=...
import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Alert, Button, Stack, Text, TextInput, PasswordInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { AuthError, completeSetup, getSetupLink, minPasswordLength, tokenFromHash } from "../api/auth";
import type { SetupLink } from "../api/auth";
import { useAuth } from "../api/session";
import { ErrorAlert, Loading } from "../components/common";
import { formatKST } from "../lib/format";
import { AuthFrame } from "./SignIn";

/** passwordProblem is what keeps a new password from being sent (the server checks again). */
export function passwordProblem(password: string): "short" | undefined {
  if ([...password].length < minPasswordLength) return "short";
  return undefined;
}

export default function SetupPage() {
  const { t } = useTranslation();
  const { signedIn } = useAuth();
  const navigate = useNavigate();
  const [token] = useState(() => tokenFromHash(window.location.hash));
  const [link, setLink] = useState<SetupLink>();
  const [linkError, setLinkError] = useState<unknown>();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    // Keep the token out of the address bar and the history once read.
    if (window.location.hash) history.replaceState(null, "", window.location.pathname);
    if (!token) return;
    getSetupLink(token).then(setLink, setLinkError);
  }, [token]);

  const problem = passwordProblem(password);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (problem) return;
    setBusy(true);
    setError(undefined);
    try {
      const a = await completeSetup(token, password, link?.email ? undefined : email.trim());
      signedIn(a.csrfToken);
      navigate("/", { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (!token || (linkError instanceof AuthError && linkError.status === 404)) {
    return (
      <AuthFrame title={t("setup.title")}>
        <Alert color="red" title={t("setup.invalidTitle")} data-testid="setup-invalid" role="alert">
          {t("setup.invalidBody")}
        </Alert>
      </AuthFrame>
    );
  }
  if (linkError) {
    return (
      <AuthFrame title={t("setup.title")}>
        <ErrorAlert error={linkError} testId="setup-error" />
      </AuthFrame>
    );
  }
  if (!link) return <Loading />;

  return (
    <AuthFrame title={t("setup.title")}>
      <form onSubmit={submit} data-testid="setup-form">
        <Stack>
          <Text size="sm">{link.email ? t("setup.forEmail") : t("setup.firstOwner")}</Text>
          {link.expiresAt && (
            <Text size="xs" c="dimmed">
              {t("setup.expires", { time: formatKST(new Date(link.expiresAt)) })}
            </Text>
          )}
          <TextInput
            label={t("auth.email")}
            type="email"
            autoComplete="username"
            required={!link.email}
            readOnly={!!link.email}
            value={link.email || email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            data-testid="setup-email"
          />
          <PasswordInput
            label={t("auth.newPassword")}
            description={t("setup.rule", { n: minPasswordLength })}
            autoComplete="new-password"
            required
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            error={touched && problem === "short" ? t("setup.tooShort", { n: minPasswordLength }) : undefined}
            data-testid="setup-password"
          />
          <ErrorAlert error={error} testId="setup-error" />
          <Button type="submit" loading={busy} data-testid="setup-submit">
            {t("setup.submit")}
          </Button>
        </Stack>
      </form>
    </AuthFrame>
  );
}
