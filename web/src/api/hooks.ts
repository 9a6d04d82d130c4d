// Data fetching shared by the pages: queries keyed by the selected store, and
// actions that notify on success and invalidate what they changed.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { QueryKey } from "@tanstack/react-query";
import { notifications } from "@mantine/notifications";
import { useTranslation } from "react-i18next";
import { useConsole } from "./session";

/** useStoreQuery runs a query for the selected store; its key starts with the store id. */
export function useStoreQuery<T>(key: readonly unknown[], fn: (storeId: string) => Promise<T>, enabled = true) {
  const { storeId } = useConsole();
  return useQuery({
    queryKey: ["store", storeId, ...key] as QueryKey,
    queryFn: () => fn(storeId),
    enabled: enabled && storeId !== "",
  });
}

/**
 * useAction wraps a call that changes something: on success it shows a
 * notification and invalidates the store's queries under the given keys. The
 * answer is not kept in any cache (gcTime 0), so one-time secrets in it are
 * not either; pages copy what they must show into their own state.
 */
export function useAction<V, R>(
  fn: (vars: V) => Promise<R>,
  opts: { invalidate?: readonly unknown[][]; success?: string; onSuccess?: (r: R, v: V) => void } = {},
) {
  const { storeId } = useConsole();
  const qc = useQueryClient();
  const { t } = useTranslation();
  return useMutation({
    mutationFn: fn,
    gcTime: 0,
    onSuccess: async (r, v) => {
      opts.onSuccess?.(r, v);
      if (opts.success !== undefined) {
        notifications.show({ color: "green", message: opts.success || t("common.done") });
      }
      for (const k of opts.invalidate ?? []) await qc.invalidateQueries({ queryKey: ["store", storeId, ...k] });
    },
  });
}
