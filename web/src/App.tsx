import { lazy } from "react";
import { Button, Center, Stack } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { ConsoleProvider, useAuth, useConsoleSessionQuery } from "./api/session";
import { ErrorAlert, Loading } from "./components/common";
import { Layout } from "./components/Layout";
import SignInPage from "./pages/SignIn";
import SetupPage from "./pages/Setup";

const HomePage = lazy(() => import("./pages/Home"));
const KeysPage = lazy(() => import("./pages/Keys"));
const IPRulesPage = lazy(() => import("./pages/IPRules"));
const ChannelsPage = lazy(() => import("./pages/Channels"));
const PaymentsPage = lazy(() => import("./pages/Payments"));
const PaymentDetailPage = lazy(() => import("./pages/PaymentDetail"));
const WebhooksPage = lazy(() => import("./pages/Webhooks"));
const LogsPage = lazy(() => import("./pages/Logs"));
const BillingPage = lazy(() => import("./pages/Billing"));
const DepositsPage = lazy(() => import("./pages/Deposits"));
const MembersPage = lazy(() => import("./pages/Members"));
const StoresPage = lazy(() => import("./pages/Stores"));
const NotFoundPage = lazy(() => import("./pages/NotFound"));

function SignedIn() {
  const { t } = useTranslation();
  const q = useConsoleSessionQuery();
  if (q.isPending) return <Loading />;
  if (q.isError) {
    return (
      <Center p="xl">
        <Stack>
          <ErrorAlert error={q.error} testId="session-error" />
          <Button onClick={() => void q.refetch()}>{t("common.retry")}</Button>
        </Stack>
      </Center>
    );
  }
  return (
    <ConsoleProvider session={q.data}>
      <Routes>
        <Route path="sign-in" element={<Navigate to="/" replace />} />
        <Route element={<Layout />}>
          <Route index element={<HomePage />} />
          <Route path="keys" element={<KeysPage />} />
          <Route path="ip-rules" element={<IPRulesPage />} />
          <Route path="channels" element={<ChannelsPage />} />
          <Route path="payments" element={<PaymentsPage />} />
          <Route path="payments/:id" element={<PaymentDetailPage />} />
          <Route path="webhooks/*" element={<WebhooksPage />} />
          <Route path="logs/*" element={<LogsPage />} />
          <Route path="billing" element={<BillingPage />} />
          <Route path="deposits" element={<DepositsPage />} />
          <Route path="members" element={<MembersPage />} />
          <Route path="stores" element={<StoresPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </ConsoleProvider>
  );
}

export default function App() {
  const { t } = useTranslation();
  const { auth, retry } = useAuth();
  const location = useLocation();
  if (location.pathname === "/setup") return <SetupPage />;
  switch (auth.status) {
    case "loading":
      return <Loading />;
    case "error":
      return (
        <Center p="xl">
          <Stack>
            <ErrorAlert error={auth.error} testId="session-error" />
            <Button onClick={retry}>{t("common.retry")}</Button>
          </Stack>
        </Center>
      );
    case "signedOut":
      return <SignInPage reason={auth.reason} />;
    case "signedIn":
      return <SignedIn />;
  }
}
