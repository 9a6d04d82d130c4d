// PG channels (채널): one contract with one PG in TEST or LIVE mode.
import { useState } from "react";
import { Alert, Badge, Button, Checkbox, Group, Modal, PasswordInput, Stack, Table, Text, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useTranslation } from "react-i18next";
import {
  ChannelPurpose,
  ChannelPurposeSchema,
  ChannelService,
  Mode,
  ModeSchema,
  Provider,
  ProviderSchema,
  TaxType,
  TaxTypeSchema,
} from "@paymux/client";
import type { Channel, ChannelVerification } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan, useConsole } from "../api/session";
import { ConfirmModal, CopyField, DataTable, ErrorAlert, Loading, PageHeader, RoleNote, Time } from "../components/common";
import { EnumSelect } from "../components/forms";
import { enumText } from "../components/labels";
import { providerSecrets, secretsToSend } from "../lib/channels";
import { ModeBadge } from "./Keys";

function CreateChannelModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { storeId } = useConsole();
  const [provider, setProvider] = useState(String(Provider.SANDBOX));
  const [mode, setMode] = useState(String(Mode.TEST));
  const [name, setName] = useState("");
  const [purpose, setPurpose] = useState(String(ChannelPurpose.PAYMENT));
  const [merchantId, setMerchantId] = useState("");
  const [taxType, setTaxType] = useState(String(TaxType.TAXABLE));
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [verify, setVerify] = useState(false);
  const [verification, setVerification] = useState<ChannelVerification>();
  const p = Number(provider) as Provider;
  const fields = providerSecrets(p);
  const { secrets: toSend, missing } = secretsToSend(p, secrets);
  const create = useAction(
    async () => {
      const r = await client(ChannelService).createChannel({
        storeId,
        provider: p,
        mode: Number(mode),
        name: name.trim(),
        purpose: Number(purpose),
        merchantId: merchantId.trim() || (p === Provider.SANDBOX ? "sandbox" : ""),
        taxType: Number(taxType),
        secrets: toSend,
        verify: verify && p !== Provider.SANDBOX,
      });
      setVerification(r.verification);
      return r.channel;
    },
    { invalidate: [["channels"]], success: t("channels.created") },
  );
  function close() {
    setSecrets({});
    setVerification(undefined);
    create.reset();
    onClose();
  }
  return (
    <Modal opened={opened} onClose={close} title={t("channels.add")} size="lg" data-testid="channel-create-modal">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (missing.length > 0) return;
          create.mutate(undefined, {
            onSuccess: () => {
              setName("");
              setMerchantId("");
              close();
            },
          });
        }}
      >
        <Stack>
          <EnumSelect
            schema={ProviderSchema}
            label={t("channels.provider")}
            value={provider}
            onChange={(v) => {
              setProvider(v);
              setSecrets({});
            }}
            testId="channel-provider"
          />
          <Text size="xs" c="dimmed">
            {t(`channels.providerHelp.${ProviderSchema.values.find((v) => v.number === p)?.localName ?? "SANDBOX"}`)}
          </Text>
          <EnumSelect schema={ModeSchema} label={t("common.mode")} value={mode} onChange={setMode} testId="channel-mode" />
          <TextInput
            label={t("common.name")}
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            data-testid="channel-name"
          />
          <EnumSelect
            schema={ChannelPurposeSchema}
            label={t("channels.purpose")}
            value={purpose}
            onChange={setPurpose}
            testId="channel-purpose"
          />
          <TextInput
            label={t("channels.merchantId")}
            description={p === Provider.SANDBOX ? t("channels.sandboxMerchantId") : undefined}
            required={p !== Provider.SANDBOX}
            maxLength={100}
            value={merchantId}
            onChange={(e) => setMerchantId(e.currentTarget.value)}
            data-testid="channel-merchant-id"
          />
          <EnumSelect schema={TaxTypeSchema} label={t("channels.taxType")} value={taxType} onChange={setTaxType} testId="channel-tax-type" />
          {fields.map((f) => (
            <PasswordInput
              key={f.name}
              label={f.name}
              required={f.required}
              autoComplete="off"
              value={secrets[f.name] ?? ""}
              onChange={(e) => {
                const v = e.currentTarget.value;
                setSecrets((s) => ({ ...s, [f.name]: v }));
              }}
              data-testid={`channel-secret-${f.name}`}
            />
          ))}
          {fields.length > 0 && (
            <>
              <Text size="xs" c="dimmed">
                {t("channels.secretsWriteOnly")}
              </Text>
              <Checkbox
                label={t("channels.verify")}
                checked={verify}
                onChange={(e) => setVerify(e.currentTarget.checked)}
                data-testid="channel-verify"
              />
            </>
          )}
          {verification && (
            <Alert color={verification.ok ? "green" : "red"} data-testid="channel-verification">
              {verification.message}
            </Alert>
          )}
          <ErrorAlert error={create.error} testId="channel-create-error" />
          <Group justify="end">
            <Button variant="default" onClick={close}>
              {t("common.cancel")}
            </Button>
            <Button type="submit" loading={create.isPending} disabled={missing.length > 0} data-testid="channel-create-submit">
              {t("common.create")}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function EditChannelModal({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(channel.name);
  const [merchantId, setMerchantId] = useState(channel.merchantId);
  const [taxType, setTaxType] = useState(String(channel.taxType));
  const [replace, setReplace] = useState(false);
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const fields = providerSecrets(channel.provider);
  const { secrets: toSend, missing } = secretsToSend(channel.provider, secrets);
  const save = useAction(
    () => {
      const paths: string[] = [];
      if (name.trim() !== channel.name) paths.push("name");
      if (merchantId.trim() !== channel.merchantId) paths.push("merchant_id");
      if (Number(taxType) !== channel.taxType) paths.push("tax_type");
      if (replace) paths.push("secrets");
      return client(ChannelService).updateChannel({
        id: channel.id,
        name: name.trim(),
        merchantId: merchantId.trim(),
        taxType: Number(taxType),
        secrets: replace ? toSend : {},
        updateMask: { paths },
      });
    },
    { invalidate: [["channels"]], success: t("channels.saved") },
  );
  return (
    <Modal opened onClose={onClose} title={t("channels.edit")} size="lg" data-testid="channel-edit-modal">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (replace && missing.length > 0) return;
          save.mutate(undefined, { onSuccess: onClose });
        }}
      >
        <Stack>
          <TextInput label={t("common.name")} required maxLength={100} value={name} onChange={(e) => setName(e.currentTarget.value)} data-testid="channel-edit-name" />
          <TextInput
            label={t("channels.merchantId")}
            required
            maxLength={100}
            value={merchantId}
            onChange={(e) => setMerchantId(e.currentTarget.value)}
            data-testid="channel-edit-merchant-id"
          />
          <EnumSelect schema={TaxTypeSchema} label={t("channels.taxType")} value={taxType} onChange={setTaxType} testId="channel-edit-tax-type" />
          {fields.length > 0 && (
            <Checkbox
              label={t("channels.replaceSecrets")}
              checked={replace}
              onChange={(e) => setReplace(e.currentTarget.checked)}
              data-testid="channel-edit-replace-secrets"
            />
          )}
          {replace &&
            fields.map((f) => (
              <PasswordInput
                key={f.name}
                label={f.name}
                required={f.required}
                autoComplete="off"
                value={secrets[f.name] ?? ""}
                onChange={(e) => {
                  const v = e.currentTarget.value;
                  setSecrets((s) => ({ ...s, [f.name]: v }));
                }}
                data-testid={`channel-edit-secret-${f.name}`}
              />
            ))}
          <ErrorAlert error={save.error} testId="channel-edit-error" />
          <Group justify="end">
            <Button variant="default" onClick={onClose}>
              {t("common.cancel")}
            </Button>
            <Button type="submit" loading={save.isPending} disabled={replace && missing.length > 0} data-testid="channel-edit-submit">
              {t("common.save")}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function ChannelsPage() {
  const { t } = useTranslation();
  const canCreate = useCan(ChannelService.method.createChannel);
  const canUpdate = useCan(ChannelService.method.updateChannel);
  const canDelete = useCan(ChannelService.method.deleteChannel);
  const channels = useStoreQuery(["channels"], (storeId) => client(ChannelService).listChannels({ storeId, pageSize: 100 }));
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Channel>();
  const [editing, setEditing] = useState<Channel>();
  const [showUrl, setShowUrl] = useState<Channel>();
  const makeDefault = useAction(
    (c: Channel) => client(ChannelService).updateChannel({ id: c.id, default: true, updateMask: { paths: ["default"] } }),
    { invalidate: [["channels"]], success: t("channels.madeDefault") },
  );
  const del = useAction((c: Channel) => client(ChannelService).deleteChannel({ id: c.id }), {
    invalidate: [["channels"]],
  });

  return (
    <Stack>
      <PageHeader title={t("nav.channels")}>
        {canCreate ? (
          <Button onClick={() => setCreating(true)} data-testid="channel-create">
            {t("channels.add")}
          </Button>
        ) : (
          <RoleNote need={t("role.admin")} />
        )}
      </PageHeader>
      <Text size="sm" c="dimmed">
        {t("channels.intro")}
      </Text>
      <ErrorAlert error={makeDefault.error} testId="channel-default-error" />
      {channels.isPending ? (
        <Loading />
      ) : channels.isError ? (
        <ErrorAlert error={channels.error} />
      ) : (
        <DataTable
          testId="channels-table"
          minWidth={1000}
          empty={channels.data.channels.length === 0}
          head={[
            t("common.name"),
            t("channels.provider"),
            t("common.mode"),
            t("channels.purpose"),
            t("channels.merchantId"),
            t("channels.taxType"),
            t("channels.secrets"),
            t("common.status"),
            t("common.actions"),
          ]}
        >
          {channels.data.channels.map((c) => (
            <Table.Tr key={c.id} data-testid="channel-row" data-id={c.id}>
              <Table.Td>
                <Stack gap={0}>
                  <Text size="sm">{c.name}</Text>
                  <Text size="xs" c="dimmed" ff="monospace">
                    {c.id}
                  </Text>
                </Stack>
              </Table.Td>
              <Table.Td>{enumText(t, ProviderSchema, c.provider)}</Table.Td>
              <Table.Td>
                <ModeBadge mode={c.mode} />
              </Table.Td>
              <Table.Td>{enumText(t, ChannelPurposeSchema, c.purpose)}</Table.Td>
              <Table.Td ff="monospace">{c.merchantId}</Table.Td>
              <Table.Td>{enumText(t, TaxTypeSchema, c.taxType)}</Table.Td>
              <Table.Td>
                <Text size="xs">{c.secretNames.length ? c.secretNames.join(", ") : t("common.none")}</Text>
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  {c.default && (
                    <Badge color="indigo" data-testid="channel-default-badge">
                      {t("channels.default")}
                    </Badge>
                  )}
                  {c.archiveTime && (
                    <Badge color="gray">
                      {t("channels.archived")} <Time t={c.archiveTime} />
                    </Badge>
                  )}
                </Group>
              </Table.Td>
              <Table.Td>
                <Group gap={4} wrap="nowrap">
                  <Button size="xs" variant="subtle" onClick={() => setShowUrl(c)} data-testid="channel-notification-url">
                    {t("channels.notificationUrl")}
                  </Button>
                  {!c.archiveTime && (
                    <Button size="xs" variant="light" disabled={!canUpdate} onClick={() => setEditing(c)} data-testid="channel-edit">
                      {t("common.edit")}
                    </Button>
                  )}
                  {!c.default && !c.archiveTime && (
                    <Button
                      size="xs"
                      variant="light"
                      disabled={!canUpdate}
                      loading={makeDefault.isPending && makeDefault.variables?.id === c.id}
                      onClick={() => makeDefault.mutate(c)}
                      data-testid="channel-make-default"
                    >
                      {t("channels.makeDefault")}
                    </Button>
                  )}
                  {!c.archiveTime && (
                    <Button size="xs" variant="light" color="red" disabled={!canDelete} onClick={() => setDeleting(c)} data-testid="channel-delete">
                      {t("common.delete")}
                    </Button>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
      <CreateChannelModal opened={creating} onClose={() => setCreating(false)} />
      {editing && <EditChannelModal channel={editing} onClose={() => setEditing(undefined)} />}
      <Modal opened={!!showUrl} onClose={() => setShowUrl(undefined)} title={t("channels.notificationUrl")} size="lg" data-testid="channel-url-modal">
        <Stack>
          <Text size="sm">{t("channels.notificationUrlHelp")}</Text>
          <CopyField label={showUrl?.name ?? ""} value={showUrl?.notificationUrl ?? ""} testId="channel-url" />
        </Stack>
      </Modal>
      <ConfirmModal
        opened={!!deleting}
        title={t("channels.deleteTitle")}
        confirmLabel={t("common.delete")}
        busy={del.isPending}
        error={del.error}
        onClose={() => {
          setDeleting(undefined);
          del.reset();
        }}
        onConfirm={() =>
          deleting &&
          del.mutate(deleting, {
            onSuccess: (r) => {
              setDeleting(undefined);
              notifications.show({ color: "green", message: r.archived ? t("channels.wasArchived") : t("channels.deleted") });
            },
          })
        }
        testId="channel-delete-modal"
      >
        <Text size="sm">{t("channels.deleteBody", { name: deleting?.name ?? "" })}</Text>
      </ConfirmModal>
    </Stack>
  );
}
