// Members (멤버): who may use the console for this store, and in which role.
import { useState } from "react";
import { Alert, Badge, Button, Group, Modal, NativeSelect, Stack, Table, Text, TextInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { ConsoleRole, ConsoleService } from "@paymux/client";
import type { ConsoleUser, InviteConsoleUserResponse } from "@paymux/client";
import { client } from "../api/transport";
import { useAction, useStoreQuery } from "../api/hooks";
import { useCan, useConsole } from "../api/session";
import { ConfirmModal, CopyField, DataTable, ErrorAlert, Loading, PageHeader, RoleNote, Time } from "../components/common";
import { roleLabel } from "../components/labels";
import { roleOrder } from "../lib/roles";

function RoleSelect({ value, onChange, testId, label }: { value: string; onChange: (v: string) => void; testId: string; label?: string }) {
  const { t } = useTranslation();
  return (
    <NativeSelect
      label={label}
      aria-label={label ?? t("members.role")}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      data={roleOrder.map((r) => ({ value: String(r), label: roleLabel(t, r) }))}
      data-testid={testId}
    />
  );
}

export default function MembersPage() {
  const { t } = useTranslation();
  const { storeId, session } = useConsole();
  const canManage = useCan(ConsoleService.method.inviteConsoleUser);
  const list = useStoreQuery(["members"], (storeId) => client(ConsoleService).listConsoleUsers({ storeId }));
  const [inviting, setInviting] = useState(false);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState(String(ConsoleRole.DEVELOPER));
  const [invited, setInvited] = useState<InviteConsoleUserResponse>();
  const [removing, setRemoving] = useState<ConsoleUser>();
  const invite = useAction(
    async () => {
      const r = await client(ConsoleService).inviteConsoleUser({ storeId, email: email.trim(), role: Number(role) });
      setInvited(r);
      return r.user;
    },
    { invalidate: [["members"]] },
  );
  const update = useAction(
    (v: { user: ConsoleUser; role: ConsoleRole }) =>
      client(ConsoleService).updateConsoleMember({ storeId, userId: v.user.id, role: v.role }),
    { invalidate: [["members"]], success: t("members.updated") },
  );
  const remove = useAction((u: ConsoleUser) => client(ConsoleService).removeConsoleMember({ storeId, userId: u.id }), {
    invalidate: [["members"]],
    success: t("members.removed"),
  });
  const roleIn = (u: ConsoleUser) => u.memberships.find((m) => m.storeId === storeId)?.role;
  return (
    <Stack>
      <PageHeader title={t("nav.members")}>
        {canManage ? (
          <Button onClick={() => setInviting(true)} data-testid="member-invite">
            {t("members.invite")}
          </Button>
        ) : (
          <RoleNote need={t("role.owner")} />
        )}
      </PageHeader>
      <Text size="sm" c="dimmed">{t("members.intro")}</Text>
      <ErrorAlert error={update.error} testId="member-update-error" />
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorAlert error={list.error} />
      ) : (
        <DataTable
          testId="members-table"
          minWidth={800}
          empty={list.data.users.length === 0}
          head={[t("auth.email"), t("members.role"), t("common.status"), t("members.lastSignIn"), t("common.actions")]}
        >
          {list.data.users.map((u) => {
            const r = roleIn(u);
            const self = u.id === session.user?.id;
            return (
              <Table.Tr key={u.id} data-testid="member-row" data-id={u.id} data-email={u.email}>
                <Table.Td>
                  {u.email}
                  {u.platformAdmin && <Badge ml="xs" size="xs">{t("role.platformAdmin")}</Badge>}
                  {self && <Badge ml="xs" size="xs" variant="outline">{t("members.you")}</Badge>}
                </Table.Td>
                <Table.Td>
                  {canManage && r !== undefined ? (
                    <RoleSelect
                      value={String(r)}
                      onChange={(v) => update.mutate({ user: u, role: Number(v) })}
                      testId="member-role"
                    />
                  ) : (
                    roleLabel(t, r)
                  )}
                </Table.Td>
                <Table.Td>
                  {!u.active ? (
                    <Badge color="yellow" variant="light">{t("members.pending")}</Badge>
                  ) : u.lockedUntil ? (
                    <Badge color="red" variant="light">{t("members.locked")}</Badge>
                  ) : (
                    <Badge color="green" variant="light">{t("members.active")}</Badge>
                  )}
                </Table.Td>
                <Table.Td><Time t={u.lastSignInTime} /></Table.Td>
                <Table.Td>
                  {canManage && (
                    <Button size="xs" variant="light" color="red" onClick={() => setRemoving(u)} data-testid="member-remove">
                      {t("members.remove")}
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </DataTable>
      )}
      <Modal
        opened={inviting}
        onClose={() => {
          setInviting(false);
          setInvited(undefined);
          invite.reset();
        }}
        title={t("members.invite")}
        size="lg"
        data-testid="member-invite-modal"
      >
        {invited ? (
          <Stack>
            {invited.setupUrl ? (
              <>
                <Alert color="yellow" title={t("secret.onceTitle")}>{t("members.linkOnce")}</Alert>
                <CopyField label={t("members.setupLink")} value={invited.setupUrl} testId="member-setup-url" />
                {invited.setupExpireTime && (
                  <Text size="xs" c="dimmed">
                    {t("members.linkExpires")} <Time t={invited.setupExpireTime} />
                  </Text>
                )}
              </>
            ) : (
              <Alert color="green" data-testid="member-added">{t("members.existingAdded", { email: invited.user?.email ?? "" })}</Alert>
            )}
            <Group justify="end">
              <Button onClick={() => { setInviting(false); setInvited(undefined); setEmail(""); }} data-testid="member-invite-done">
                {t("common.close")}
              </Button>
            </Group>
          </Stack>
        ) : (
          <form onSubmit={(e) => { e.preventDefault(); invite.mutate(undefined); }}>
            <Stack>
              <TextInput label={t("auth.email")} type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} data-testid="member-invite-email" />
              <RoleSelect label={t("members.role")} value={role} onChange={setRole} testId="member-invite-role" />
              <ErrorAlert error={invite.error} testId="member-invite-error" />
              <Group justify="end">
                <Button type="submit" loading={invite.isPending} data-testid="member-invite-submit">{t("members.invite")}</Button>
              </Group>
            </Stack>
          </form>
        )}
      </Modal>
      <ConfirmModal
        opened={!!removing}
        title={t("members.removeTitle")}
        confirmLabel={t("members.remove")}
        busy={remove.isPending}
        error={remove.error}
        onClose={() => { setRemoving(undefined); remove.reset(); }}
        onConfirm={() => removing && remove.mutate(removing, { onSuccess: () => setRemoving(undefined) })}
        testId="member-remove-modal"
      >
        <Text size="sm">{t("members.removeBody", { email: removing?.email ?? "" })}</Text>
      </ConfirmModal>
    </Stack>
  );
}
