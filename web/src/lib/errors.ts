// What the console tells a person about a failed call.
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthError } from "../api/auth";

export interface ErrorView {
  /** i18n key of the kind of failure. */
  titleKey: string;
  /** The server's own message (role refusals, validation), shown as text. */
  message: string;
  /** The ErrorInfo reason or the auth endpoint's code, when there is one. */
  reason?: string;
  /** Field violations, "field: what is wrong". */
  fields: string[];
}

interface ErrorInfoLike {
  reason?: string;
}

function reasonOf(e: ConnectError): string | undefined {
  for (const d of e.details) {
    if ("type" in d && d.type === "google.rpc.ErrorInfo") {
      const v = (d as { debug?: unknown }).debug as ErrorInfoLike | undefined;
      if (v?.reason) return v.reason;
    }
  }
  return undefined;
}

function fieldsOf(e: ConnectError): string[] {
  const out: string[] = [];
  for (const d of e.details) {
    if ("type" in d && d.type === "google.rpc.BadRequest") {
      const v = (d as { debug?: unknown }).debug as
        | { fieldViolations?: { field?: string; description?: string }[] }
        | undefined;
      for (const f of v?.fieldViolations ?? []) out.push(`${f.field ?? ""}: ${f.description ?? ""}`);
    }
  }
  return out;
}

const titleByCode: Partial<Record<Code, string>> = {
  [Code.PermissionDenied]: "error.permissionDenied",
  [Code.Unauthenticated]: "error.unauthenticated",
  [Code.InvalidArgument]: "error.invalidArgument",
  [Code.NotFound]: "error.notFound",
  [Code.FailedPrecondition]: "error.failedPrecondition",
  [Code.AlreadyExists]: "error.alreadyExists",
  [Code.ResourceExhausted]: "error.resourceExhausted",
  [Code.Unavailable]: "error.unavailable",
  [Code.DeadlineExceeded]: "error.unavailable",
};

/** describeError turns any thrown value into what the console shows. */
export function describeError(e: unknown): ErrorView {
  if (e instanceof AuthError) {
    return { titleKey: "error.failed", message: e.message, reason: e.code, fields: [] };
  }
  if (e instanceof ConnectError) {
    return {
      titleKey: titleByCode[e.code] ?? "error.failed",
      message: e.rawMessage,
      reason: reasonOf(e),
      fields: fieldsOf(e),
    };
  }
  return { titleKey: "error.failed", message: e instanceof Error ? e.message : String(e), fields: [] };
}

export function isPermissionDenied(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.PermissionDenied;
}
