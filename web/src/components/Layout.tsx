// The console's frame: header with the store switcher, language switch and
// sign-out; navigation on the side (a drawer on a phone).
import { Suspense } from "react";
import {
  Alert,
  AppShell,
  Badge,
  Burger,
  Button,
  Group,
  NativeSelect,
  NavLink,
  ScrollArea,
  Text,
  VisuallyHidden,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useTranslation } from "react-i18next";
import { NavLink as RouterNavLink, Outlet, useLocation } from "react-router";
import type { DescMethod } from "@bufbuild/protobuf";
import {
  BillingService,
  ChannelService,
  ConsoleService,
  DepositService,
  IPRuleService,
  KeyService,
  LogService,
  PaymentService,
  StoreService,
  WebhookService,
} from "@paymux/client";
import { useAuth, useConsole } from "../api/session";
import { Access } from "@paymux/client";
import { canCall, methodAccess, requiredRole } from "../lib/roles";
import { setLang } from "../i18n";
import { Loading, useLang } from "./common";
import { roleLabel } from "./labels";

interface NavItem {
  to: string;
  key: string;
  /** The method that must be callable for the page to be shown. */
  needs?: DescMethod;
}

export const navItems: NavItem[] = [
  { to: "/", key: "nav.home" },
  { to: "/payments", key: "nav.payments", needs: PaymentService.method.listPayments },
  { to: "/keys", key: "nav.keys", needs: KeyService.method.listKeys },
  { to: "/ip-rules", key: "nav.ipRules", needs: IPRuleService.method.listIPRules },
  { to: "/channels", key: "nav.channels", needs: ChannelService.method.listChannels },
  { to: "/webhooks", key: "nav.webhooks", needs: WebhookService.method.listWebhookEndpoints },
  { to: "/logs", key: "nav.logs", needs: LogService.method.listLogs },
  { to: "/billing", key: "nav.billing", needs: BillingService.method.listBillingKeys },
  { to: "/deposits", key: "nav.deposits", needs: DepositService.method.listDeposits },
  { to: "/members", key: "nav.members", needs: ConsoleService.method.listConsoleUsers },
  { to: "/stores", key: "nav.stores", needs: StoreService.method.listStores },
];

export function LangSwitch() {
  const lang = useLang();
  const next = lang === "ko" ? "en" : "ko";
  return (
    <Button
      variant="subtle"
      size="compact-sm"
      onClick={() => setLang(next)}
      data-testid="lang-switch"
      lang={next}
      aria-label={next === "en" ? "Switch to English" : "한국어로 보기"}
    >
      {next === "en" ? "English" : "한국어"}
    </Button>
  );
}

function StoreSwitch() {
  const { t } = useTranslation();
  const { session, storeId, setStoreId } = useConsole();
  if (session.stores.length === 0) {
    return (
      <Text size="sm" c="dimmed" data-testid="store-none">
        {t("store.none")}
      </Text>
    );
  }
  return (
    <NativeSelect
      size="xs"
      aria-label={t("store.switch")}
      data-testid="store-switch"
      value={storeId}
      onChange={(e) => setStoreId(e.currentTarget.value)}
      data={session.stores.map((s) => ({ value: s.storeId, label: `${s.storeName || s.storeId}` }))}
      style={{ maxWidth: 220 }}
    />
  );
}

export function Layout() {
  const { t } = useTranslation();
  const [opened, { toggle, close }] = useDisclosure();
  const { signOut } = useAuth();
  const { session, store, caller } = useConsole();
  const location = useLocation();
  const items = navItems.filter((n) => !n.needs || canCall(caller, n.needs));
  // A page the role may not read says so instead of failing its calls.
  const here = navItems.find((n) => n.to !== "/" && (location.pathname === n.to || location.pathname.startsWith(n.to + "/")));
  const blocked = here?.needs && !canCall(caller, here.needs) ? here.needs : undefined;
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap" gap="xs">
          <Group gap="xs" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t("nav.menu")} data-testid="nav-toggle" />
            <Text fw={700} visibleFrom="xs">
              paymux
            </Text>
            <StoreSwitch />
            {store && (
              <Badge variant="light" data-testid="store-role" visibleFrom="sm">
                {session.platformAdmin ? t("role.platformAdmin") : roleLabel(t, store.role)}
              </Badge>
            )}
          </Group>
          <Group gap={4} wrap="nowrap">
            <Text size="sm" c="dimmed" visibleFrom="md" data-testid="user-email">
              {session.user?.email}
            </Text>
            <LangSwitch />
            <Button variant="default" size="compact-sm" onClick={() =>
                signOut().catch((e: unknown) =>
                  notifications.show({ color: "red", message: `${t("auth.signOutFailed")}: ${e instanceof Error ? e.message : String(e)}` }),
                )
              }
              data-testid="sign-out">
              {t("auth.signOut")}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t("nav.label")}>
        <ScrollArea>
          {items.map((n) => (
            <NavLink
              key={n.to}
              component={RouterNavLink}
              to={n.to}
              end={n.to === "/"}
              label={t(n.key)}
              active={n.to === "/" ? location.pathname === "/" : location.pathname.startsWith(n.to)}
              onClick={close}
              data-testid={`nav-${n.to === "/" ? "home" : n.to.slice(1)}`}
            />
          ))}
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <VisuallyHidden>
          <h1>paymux console</h1>
        </VisuallyHidden>
        {blocked ? (
          <Alert color="yellow" data-testid="role-blocked" role="status">
            {t("role.needs", {
              role: methodAccess(blocked) === Access.ADMIN ? t("role.platformAdmin") : roleLabel(t, requiredRole(blocked)),
            })}
          </Alert>
        ) : (
          <Suspense fallback={<Loading />}>
            <Outlet key={store?.storeId} />
          </Suspense>
        )}
      </AppShell.Main>
    </AppShell>
  );
}
