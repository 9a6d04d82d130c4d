// Stores (상점 관리), for the platform administrator: create, rename, suspend.
import { useState } from "react";
import { Badge, Button, Group, Modal, Stack, Table, Text, TextInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { StoreService, StoreState } from "@paymux/client";
import type { Store } from "@paymux/client";
import { client } from "../api/transport";
import { useAction } from "../api/hooks";
import { sessionQueryKey, useConsole } from "../api/session";
import { ConfirmModal, DataTable, ErrorAlert, Loading, PageHeader, Pager, RoleNote, Time, usePager } from "../components/common";

export default function StoresPage() {
  const { t } = useTranslation();
  const { session } = useConsole();
  const qc = useQueryClient();
  const pager = usePager();
  const list = useQuery({
    queryKey: ["stores", pager.token],
    queryFn: () => client(StoreService).listStores({ pageSize: 50, pageToken: pager.token }),
    enabled: session.platformAdmin,
  });
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState("");
  const [contact, setContact] = useState("");
  const [toggling, setToggling] = useState<Store>();
  const refresh = async () => {
    await qc.invalidateQueries({ queryKey: ["stores"] });
    await qc.invalidateQueries({ queryKey: sessionQueryKey });
  };
  const create = useAction(
    async () => {
      const r = await client(StoreService).createStore({ name: name.trim(), contactEmail: contact.trim() });
      await refresh();
      return r;
    },
    { success: t("stores.created") },
  );
  const toggle = useAction(
    async (s: Store) => {
      const state = s.state === StoreState.SUSPENDED ? StoreState.ACTIVE : StoreState.SUSPENDED;
      const r = await client(StoreService).updateStore({ store: { id: s.id, state }, updateMask: { paths: ["state"] } });
      await refresh();
      return r;
    },
    { success: t("stores.updated") },
  );
  if (!session.platformAdmin) return <RoleNote need={t("role.platformAdmin")} />;
  return (
    <Stack>
      <PageHeader title={t("nav.stores")}>
        <Button onClick={() => setCreating(true)} data-testid="store-create">{t("stores.create")}</Button>
      </PageHeader>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <>
          <DataTable
            testId="stores-table"
            minWidth={700}
            empty={list.data.stores.length === 0}
            head={[t("common.name"), t("common.id"), t("stores.contact"), t("common.status"), t("common.created"), t("common.actions")]}
          >
            {list.data.stores.map((s) => (
              <Table.Tr key={s.id} data-testid="store-row" data-id={s.id}>
                <Table.Td>{s.name}</Table.Td>
                <Table.Td ff="monospace">{s.id}</Table.Td>
                <Table.Td>{s.contactEmail}</Table.Td>
                <Table.Td>
                  <Badge color={s.state === StoreState.SUSPENDED ? "red" : "green"} variant="light">
                    {s.state === StoreState.SUSPENDED ? t("stores.suspended") : t("stores.active")}
                  </Badge>
                </Table.Td>
                <Table.Td><Time t={s.createTime} /></Table.Td>
                <Table.Td>
                  <Button size="xs" variant="light" color={s.state === StoreState.SUSPENDED ? "green" : "red"} onClick={() => setToggling(s)} data-testid="store-suspend">
                    {s.state === StoreState.SUSPENDED ? t("stores.resume") : t("stores.suspend")}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
          <Pager pager={pager} nextToken={list.data.nextPageToken} testId="stores-pager" />
        </>
      )}
      <Modal opened={creating} onClose={() => { setCreating(false); create.reset(); }} title={t("stores.create")} data-testid="store-create-modal">
        <form onSubmit={(e) => { e.preventDefault(); create.mutate(undefined, { onSuccess: () => { setCreating(false); setName(""); setContact(""); } }); }}>
          <Stack>
            <TextInput label={t("common.name")} required maxLength={100} value={name} onChange={(e) => setName(e.currentTarget.value)} data-testid="store-name" />
            <TextInput label={t("stores.contact")} type="email" value={contact} onChange={(e) => setContact(e.currentTarget.value)} data-testid="store-contact" />
            <ErrorAlert error={create.error} testId="store-create-error" />
            <Group justify="end">
              <Button type="submit" loading={create.isPending} data-testid="store-create-submit">{t("common.create")}</Button>
            </Group>
          </Stack>
        </form>
      </Modal>
      <ConfirmModal
        opened={!!toggling}
        danger={toggling?.state !== StoreState.SUSPENDED}
        title={toggling?.state === StoreState.SUSPENDED ? t("stores.resumeTitle") : t("stores.suspendTitle")}
        confirmLabel={toggling?.state === StoreState.SUSPENDED ? t("stores.resume") : t("stores.suspend")}
        busy={toggle.isPending}
        error={toggle.error}
        onClose={() => { setToggling(undefined); toggle.reset(); }}
        onConfirm={() => toggling && toggle.mutate(toggling, { onSuccess: () => setToggling(undefined) })}
        testId="store-suspend-modal"
      >
        <Text size="sm">
          {toggling?.state === StoreState.SUSPENDED
            ? t("stores.resumeBody", { name: toggling?.name ?? "" })
            : t("stores.suspendBody", { name: toggling?.name ?? "" })}
        </Text>
      </ConfirmModal>
    </Stack>
  );
}
