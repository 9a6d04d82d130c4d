// API keys (KEY정보): list, create, reissue the secret, delete.
import { useState } from "react";
import { Badge, Button, Group, Modal, Stack, Table, Text, TextInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import {
  ApprovalModel,
  ApprovalModelSchema,
  AuthMethod,
  AuthMethodSchema,
  KeyService,
  Mode,
  ModeSchema,
} from "@paymux/client";
import type { Key } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan, useConsole } from "../api/session";
import {
  ConfirmModal,
  DataTable,
  ErrorAlert,
  Loading,
  PageHeader,
  RoleNote,
  SecretOnceModal,
  Time,
} from "../components/common";
import { EnumSelect, KSTInput } from "../components/forms";
import { enumText } from "../components/labels";
import { ts } from "../lib/query";
import { daysUntil } from "../lib/format";

interface ShownSecret {
  title: string;
  key: Key;
  secret: string;
}

function ModeBadge({ mode }: { mode: Mode }) {
  const { t } = useTranslation();
  return (
    <Badge color={mode === Mode.LIVE ? "red" : "gray"} variant="light">
      {enumText(t, ModeSchema, mode)}
    </Badge>
  );
}
export { ModeBadge };

function CreateKeyModal({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (s: ShownSecret) => void;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [mode, setMode] = useState(String(Mode.TEST));
  const [approval, setApproval] = useState(String(ApprovalModel.SERVER));
  const [auth, setAuth] = useState(String(AuthMethod.BASIC));
  const [expire, setExpire] = useState("");
  const create = useAction(
    async (storeId: string) => {
      const r = await client(KeyService).createKey({
        storeId,
        name: name.trim(),
        mode: Number(mode),
        approvalModel: Number(approval),
        authMethod: Number(auth),
        expireTime: ts(expire),
      });
      // The secret goes to the page's state only, never to a cache.
      onCreated({ title: t("keys.createdTitle"), key: r.key!, secret: r.secretKey });
      return r.key;
    },
    { invalidate: [["keys"]] },
  );
  const { storeId } = useConsole();
  return (
    <Modal opened={opened} onClose={onClose} title={t("keys.create")} data-testid="key-create-modal">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(storeId, {
            onSuccess: () => {
              setName("");
              setExpire("");
              onClose();
            },
          });
        }}
      >
        <Stack>
          <TextInput
            label={t("common.name")}
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            data-testid="key-name"
            data-autofocus
          />
          <EnumSelect schema={ModeSchema} label={t("common.mode")} value={mode} onChange={setMode} testId="key-mode" />
          <EnumSelect
            schema={ApprovalModelSchema}
            label={t("keys.approvalModel")}
            value={approval}
            onChange={setApproval}
            testId="key-approval-model"
          />
          <EnumSelect
            schema={AuthMethodSchema}
            label={t("keys.authMethod")}
            value={auth}
            onChange={setAuth}
            testId="key-auth-method"
          />
          <KSTInput label={t("keys.expireOptional")} value={expire} onChange={setExpire} testId="key-expire" />
          <ErrorAlert error={create.error} testId="key-create-error" />
          <Group justify="end">
            <Button variant="default" onClick={onClose}>
              {t("common.cancel")}
            </Button>
            <Button type="submit" loading={create.isPending} data-testid="key-create-submit">
              {t("common.create")}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function KeysPage() {
  const { t } = useTranslation();
  const canCreate = useCan(KeyService.method.createKey);
  const canReissue = useCan(KeyService.method.reissueKeySecret);
  const canDelete = useCan(KeyService.method.deleteKey);
  const keys = useStoreQuery(["keys"], (storeId) => client(KeyService).listKeys({ storeId, pageSize: 100 }));
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<ShownSecret>();
  const [reissuing, setReissuing] = useState<Key>();
  const [deleting, setDeleting] = useState<Key>();

  const reissue = useAction(
    async (k: Key) => {
      const r = await client(KeyService).reissueKeySecret({ id: k.id });
      setShown({ title: t("keys.reissuedTitle"), key: r.key!, secret: r.secretKey });
      return r.key;
    },
    { invalidate: [["keys"]] },
  );
  const del = useAction((k: Key) => client(KeyService).deleteKey({ id: k.id }), {
    invalidate: [["keys"]],
    success: t("keys.deleted"),
  });

  return (
    <Stack>
      <PageHeader title={t("nav.keys")}>
        {canCreate ? (
          <Button onClick={() => setCreating(true)} data-testid="key-create">
            {t("keys.create")}
          </Button>
        ) : (
          <RoleNote need={t("role.admin")} />
        )}
      </PageHeader>
      <Text size="sm" c="dimmed">
        {t("keys.intro")}
      </Text>
      {keys.isPending ? (
        <Loading />
      ) : keys.isError ? (
        <ErrorAlert error={keys.error} />
      ) : (
        <DataTable
          testId="keys-table"
          minWidth={1000}
          empty={keys.data.keys.length === 0}
          head={[
            t("common.name"),
            t("keys.clientKey"),
            t("keys.secretPrefix"),
            t("keys.approvalModel"),
            t("keys.authMethod"),
            t("common.mode"),
            t("keys.expire"),
            t("keys.lastUsed"),
            t("common.actions"),
          ]}
        >
          {keys.data.keys.map((k) => {
            const days = daysUntil(k.expireTime);
            return (
              <Table.Tr key={k.id} data-testid="key-row" data-id={k.id}>
                <Table.Td>{k.name}</Table.Td>
                <Table.Td>
                  <Text ff="monospace" size="sm" data-testid="key-client-key">
                    {k.clientKey}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Text ff="monospace" size="sm">
                    {k.secretKeyPrefix}…
                  </Text>
                </Table.Td>
                <Table.Td>{enumText(t, ApprovalModelSchema, k.approvalModel)}</Table.Td>
                <Table.Td>{enumText(t, AuthMethodSchema, k.authMethod)}</Table.Td>
                <Table.Td>
                  <ModeBadge mode={k.mode} />
                </Table.Td>
                <Table.Td>
                  {k.expireTime ? (
                    <Stack gap={0}>
                      <Time t={k.expireTime} />
                      {days !== undefined && days < 30 && (
                        <Text size="xs" c={days < 0 ? "red" : "orange"}>
                          {days < 0 ? t("keys.expired") : t("keys.expiresInDays", { n: days })}
                        </Text>
                      )}
                    </Stack>
                  ) : (
                    t("keys.noExpiry")
                  )}
                </Table.Td>
                <Table.Td>
                  {k.lastUsedTime ? (
                    <Stack gap={0}>
                      <Time t={k.lastUsedTime} />
                      <Text size="xs" c="dimmed" ff="monospace">
                        {k.lastUsedIp}
                      </Text>
                    </Stack>
                  ) : (
                    t("keys.neverUsed")
                  )}
                </Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Button size="xs" variant="light" disabled={!canReissue} onClick={() => setReissuing(k)} data-testid="key-reissue">
                      {t("keys.reissue")}
                    </Button>
                    <Button size="xs" variant="light" color="red" disabled={!canDelete} onClick={() => setDeleting(k)} data-testid="key-delete">
                      {t("common.delete")}
                    </Button>
                  </Group>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </DataTable>
      )}

      <CreateKeyModal opened={creating} onClose={() => setCreating(false)} onCreated={setShown} />

      <ConfirmModal
        opened={!!reissuing}
        title={t("keys.reissueTitle")}
        confirmLabel={t("keys.reissue")}
        busy={reissue.isPending}
        error={reissue.error}
        onClose={() => {
          setReissuing(undefined);
          reissue.reset();
        }}
        onConfirm={() => reissuing && reissue.mutate(reissuing, { onSuccess: () => setReissuing(undefined) })}
        testId="key-reissue-modal"
      >
        <Text size="sm">{t("keys.reissueBody", { name: reissuing?.name ?? "" })}</Text>
      </ConfirmModal>

      <ConfirmModal
        opened={!!deleting}
        title={t("keys.deleteTitle")}
        confirmLabel={t("common.delete")}
        busy={del.isPending}
        error={del.error}
        onClose={() => {
          setDeleting(undefined);
          del.reset();
        }}
        onConfirm={() => deleting && del.mutate(deleting, { onSuccess: () => setDeleting(undefined) })}
        testId="key-delete-modal"
      >
        <Text size="sm">{t("keys.deleteBody", { name: deleting?.name ?? "", clientKey: deleting?.clientKey ?? "" })}</Text>
      </ConfirmModal>

      <SecretOnceModal
        opened={!!shown}
        title={shown?.title ?? ""}
        label={t("keys.secretKey")}
        secret={shown?.secret ?? ""}
        extra={
          shown && (
            <Text size="sm">
              {t("keys.clientKey")}: <Text span ff="monospace">{shown.key.clientKey}</Text>
            </Text>
          )
        }
        onClose={() => setShown(undefined)}
        testId="key-secret-modal"
        secretTestId="key-secret"
      />
    </Stack>
  );
}
