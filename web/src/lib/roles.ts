// Who may do what in the console. The role each method needs is read from the
// protos' (paymux.v1.console_role) and (paymux.v1.access) options, so the UI
// hides or disables exactly what the server would refuse.
import { getOption, hasOption } from "@bufbuild/protobuf";
import type { DescMethod } from "@bufbuild/protobuf";
import { Access, ConsoleRole, access, console_role } from "@paymux/client";

/** The roles in rising order; each includes the ones before it. */
export const roleOrder: readonly ConsoleRole[] = [
  ConsoleRole.VIEWER,
  ConsoleRole.DEVELOPER,
  ConsoleRole.ADMIN,
  ConsoleRole.OWNER,
];

/** roleRank is 0 for no role, 1 for VIEWER ... 4 for OWNER. */
export function roleRank(role: ConsoleRole | undefined): number {
  if (role === undefined) return 0;
  const i = roleOrder.indexOf(role);
  return i < 0 ? 0 : i + 1;
}

/** atLeast says whether role includes need. */
export function atLeast(role: ConsoleRole | undefined, need: ConsoleRole): boolean {
  return roleRank(role) >= roleRank(need) && roleRank(need) > 0;
}

/** requiredRole is the console role a method declares, or undefined when it declares none. */
export function requiredRole(method: DescMethod): ConsoleRole | undefined {
  if (!hasOption(method, console_role)) return undefined;
  const r = getOption(method, console_role);
  return r === ConsoleRole.UNSPECIFIED ? undefined : r;
}

/** methodAccess is who may call a method at all. */
export function methodAccess(method: DescMethod): Access {
  return getOption(method, access);
}

/** The caller as the console sees it: their role in the selected store and whether they are the platform administrator. */
export interface Caller {
  role: ConsoleRole | undefined;
  platformAdmin: boolean;
}

/**
 * changesLive says whether the caller's changes reach LIVE mode: below ADMIN
 * a change reaches TEST only, as a TEST key's does (the server refuses the
 * rest).
 */
export function changesLive(caller: Caller): boolean {
  return caller.platformAdmin || atLeast(caller.role, ConsoleRole.ADMIN);
}

/**
 * canCall says whether the caller may call a method on the selected store:
 * ACCESS_ADMIN methods are for the platform administrator only; the others
 * need the method's console role (the administrator acts as OWNER).
 */
export function canCall(caller: Caller, method: DescMethod): boolean {
  const acc = methodAccess(method);
  if (acc === Access.ADMIN) return caller.platformAdmin;
  if (acc === Access.KEY_BASIC) return false;
  if (caller.platformAdmin) return true;
  const need = requiredRole(method);
  if (need === undefined) return acc === Access.CONSOLE; // e.g. GetConsoleSession
  return atLeast(caller.role, need);
}
