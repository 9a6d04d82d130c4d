import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthError } from "../api/auth";
import { describeError, isPermissionDenied } from "./errors";

describe("describeError", () => {
  it("shows a role refusal with the server's message and reason", () => {
    const e = new ConnectError("this needs the ADMIN role in store st_1; a@b.c is VIEWER", Code.PermissionDenied);
    e.details.push({ type: "google.rpc.ErrorInfo", value: new Uint8Array(), debug: { reason: "ROLE_NOT_ALLOWED", domain: "paymux" } });
    const v = describeError(e);
    expect(v.titleKey).toBe("error.permissionDenied");
    expect(v.message).toBe("this needs the ADMIN role in store st_1; a@b.c is VIEWER");
    expect(v.reason).toBe("ROLE_NOT_ALLOWED");
    expect(isPermissionDenied(e)).toBe(true);
  });
  it("lists field violations", () => {
    const e = new ConnectError("invalid request", Code.InvalidArgument);
    e.details.push({
      type: "google.rpc.BadRequest",
      value: new Uint8Array(),
      debug: { fieldViolations: [{ field: "url", description: "loopback is not allowed" }] },
    });
    expect(describeError(e).fields).toEqual(["url: loopback is not allowed"]);
    expect(describeError(e).titleKey).toBe("error.invalidArgument");
  });
  it("describes sign-in refusals and anything else", () => {
    expect(describeError(new AuthError(423, "locked", "locked")).reason).toBe("locked");
    expect(describeError(new Error("boom"))).toEqual({ titleKey: "error.failed", message: "boom", fields: [] });
    expect(describeError("text").message).toBe("text");
  });
});
