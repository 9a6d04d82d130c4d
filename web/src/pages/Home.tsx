// The start page: what needs attention now.
import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DepositService, DepositStatus, KeyService, WebhookDeliveryStatus, WebhookService } from "@paymux/client";
import { client } from "../api/transport";
import { useStoreQuery } from "../api/hooks";
import { useCan, useConsole } from "../api/session";
import { ErrorAlert, Loading, Money, PageHeader, RoleNote, Time } from "../components/common";
import { expiringKeys } from "../lib/attention";

function Panel({
  title,
  count,
  more,
  link,
  linkLabel,
  testId,
  children,
}: {
  title: string;
  count: number | undefined;
  more?: boolean;
  link: string;
  linkLabel: string;
  testId: string;
  children: React.ReactNode;
}) {
  return (
    <Card withBorder data-testid={testId}>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h5">
          {title}
        </Title>
        {count !== undefined && (
          <Badge color={count > 0 ? "red" : "green"} data-testid={`${testId}-count`}>
            {more ? `${count}+` : count}
          </Badge>
        )}
      </Group>
      <Stack gap={4}>{children}</Stack>
      <Anchor component={Link} to={link} size="sm" mt="sm">
        {linkLabel} →
      </Anchor>
    </Card>
  );
}

function FailedDeliveries() {
  const { t } = useTranslation();
  const since = timestampFromDate(new Date(Date.now() - 7 * 86_400_000));
  const q = useStoreQuery(["webhook-deliveries", "failed-home"], (storeId) =>
    client(WebhookService).listWebhookDeliveries({
      storeId,
      statuses: [WebhookDeliveryStatus.FAILED],
      startTime: since,
      pageSize: 5,
    }),
  );
  const n = q.data?.deliveries.length;
  return (
    <Panel
      title={t("home.failedDeliveries")}
      count={n}
      more={!!q.data?.nextPageToken}
      link="/webhooks/deliveries?status=failed"
      linkLabel={t("home.toDeliveries")}
      testId="home-failed-deliveries"
    >
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorAlert error={q.error} />
      ) : n === 0 ? (
        <Text size="sm" c="dimmed">{t("home.noFailedDeliveries")}</Text>
      ) : (
        q.data.deliveries.map((d) => (
          <Text size="sm" key={d.id}>
            <Time t={d.createTime} /> · {d.eventType} · {d.merchantPaymentId} · HTTP {d.lastResponseStatus || "-"}
          </Text>
        ))
      )}
    </Panel>
  );
}

function UnmatchedDeposits() {
  const { t } = useTranslation();
  const q = useStoreQuery(["deposits", "unmatched-home"], (storeId) =>
    client(DepositService).listDeposits({ storeId, statuses: [DepositStatus.UNMATCHED], pageSize: 5 }),
  );
  const n = q.data?.deposits.length;
  return (
    <Panel
      title={t("home.unmatchedDeposits")}
      count={n}
      more={!!q.data?.nextPageToken}
      link="/deposits?status=unmatched"
      linkLabel={t("home.toDeposits")}
      testId="home-unmatched-deposits"
    >
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorAlert error={q.error} />
      ) : n === 0 ? (
        <Text size="sm" c="dimmed">{t("home.noUnmatched")}</Text>
      ) : (
        q.data.deposits.map((d) => (
          <Text size="sm" key={d.id}>
            <Time t={d.transactionTime} /> · {d.depositorName} · <Money amount={d.amount} />
          </Text>
        ))
      )}
    </Panel>
  );
}

function ExpiringKeys() {
  const { t } = useTranslation();
  const q = useStoreQuery(["keys"], (storeId) => client(KeyService).listKeys({ storeId, pageSize: 100 }));
  const soon = q.data ? expiringKeys(q.data.keys, 30) : [];
  return (
    <Panel
      title={t("home.expiringKeys")}
      count={q.data ? soon.length : undefined}
      link="/keys"
      linkLabel={t("home.toKeys")}
      testId="home-expiring-keys"
    >
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorAlert error={q.error} />
      ) : soon.length === 0 ? (
        <Text size="sm" c="dimmed">{t("home.noExpiring")}</Text>
      ) : (
        soon.map((k) => (
          <Text size="sm" key={k.id}>
            {k.name} · {k.clientKey} · <Time t={k.expireTime} />
          </Text>
        ))
      )}
    </Panel>
  );
}

export default function HomePage() {
  const { t } = useTranslation();
  const { store, session } = useConsole();
  const canDeliveries = useCan(WebhookService.method.listWebhookDeliveries);
  const canDeposits = useCan(DepositService.method.listDeposits);
  const canKeys = useCan(KeyService.method.listKeys);
  return (
    <Stack>
      <PageHeader title={t("home.title")} />
      <Text size="sm" c="dimmed">
        {store ? t("home.store", { name: store.storeName || store.storeId }) : t("store.none")}
        {session.expireTime && (
          <>
            {" · "}
            {t("home.sessionUntil")} <Time t={session.expireTime} />
          </>
        )}
      </Text>
      {store && (
        <SimpleGrid cols={{ base: 1, md: 3 }}>
          {canDeliveries ? (
            <FailedDeliveries />
          ) : (
            <Card withBorder>
              <Title order={3} size="h5">{t("home.failedDeliveries")}</Title>
              <RoleNote need={t("role.developer")} />
            </Card>
          )}
          {canDeposits && <UnmatchedDeposits />}
          {canKeys && <ExpiringKeys />}
        </SimpleGrid>
      )}
    </Stack>
  );
}
