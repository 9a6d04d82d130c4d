import { describe, expect, it } from "vitest";
import {
  ConsoleRole,
  ConsoleService,
  DepositService,
  IPRuleService,
  KeyService,
  LogService,
  PaymentService,
  StoreService,
  WebhookService,
} from "@paymux/client";
import { atLeast, canCall, changesLive, requiredRole, roleRank } from "./roles";

const as = (role: ConsoleRole | undefined, platformAdmin = false) => ({ role, platformAdmin });

describe("roles", () => {
  it("orders VIEWER < DEVELOPER < ADMIN < OWNER", () => {
    expect(roleRank(ConsoleRole.VIEWER)).toBeLessThan(roleRank(ConsoleRole.DEVELOPER));
    expect(roleRank(ConsoleRole.DEVELOPER)).toBeLessThan(roleRank(ConsoleRole.ADMIN));
    expect(roleRank(ConsoleRole.ADMIN)).toBeLessThan(roleRank(ConsoleRole.OWNER));
    expect(roleRank(undefined)).toBe(0);
    expect(atLeast(ConsoleRole.OWNER, ConsoleRole.VIEWER)).toBe(true);
    expect(atLeast(ConsoleRole.VIEWER, ConsoleRole.ADMIN)).toBe(false);
    expect(atLeast(undefined, ConsoleRole.VIEWER)).toBe(false);
  });
  it("reads each method's role from the protos", () => {
    expect(requiredRole(KeyService.method.listKeys)).toBe(ConsoleRole.VIEWER);
    expect(requiredRole(KeyService.method.createKey)).toBe(ConsoleRole.ADMIN);
    expect(requiredRole(LogService.method.listLogs)).toBe(ConsoleRole.DEVELOPER);
    expect(requiredRole(PaymentService.method.createPayment)).toBe(ConsoleRole.DEVELOPER);
    expect(requiredRole(PaymentService.method.cancelPayment)).toBe(ConsoleRole.ADMIN);
    expect(requiredRole(ConsoleService.method.inviteConsoleUser)).toBe(ConsoleRole.OWNER);
    expect(requiredRole(StoreService.method.createStore)).toBeUndefined();
  });
  it("lets a role call what its rank admits", () => {
    expect(canCall(as(ConsoleRole.VIEWER), KeyService.method.listKeys)).toBe(true);
    expect(canCall(as(ConsoleRole.VIEWER), KeyService.method.createKey)).toBe(false);
    expect(canCall(as(ConsoleRole.VIEWER), WebhookService.method.listWebhookDeliveries)).toBe(false);
    expect(canCall(as(ConsoleRole.DEVELOPER), WebhookService.method.testWebhookEndpoint)).toBe(true);
    expect(canCall(as(ConsoleRole.DEVELOPER), IPRuleService.method.createIPRule)).toBe(false);
    expect(canCall(as(ConsoleRole.ADMIN), IPRuleService.method.createIPRule)).toBe(true);
    expect(canCall(as(ConsoleRole.ADMIN), DepositService.method.matchDeposit)).toBe(true);
    expect(canCall(as(ConsoleRole.ADMIN), ConsoleService.method.listConsoleUsers)).toBe(true);
    expect(canCall(as(ConsoleRole.ADMIN), ConsoleService.method.inviteConsoleUser)).toBe(false);
    expect(canCall(as(ConsoleRole.OWNER), ConsoleService.method.removeConsoleMember)).toBe(true);
    expect(canCall(as(undefined), KeyService.method.listKeys)).toBe(false);
  });
  it("keeps store administration to the platform administrator", () => {
    expect(canCall(as(ConsoleRole.OWNER), StoreService.method.listStores)).toBe(false);
    expect(canCall(as(ConsoleRole.OWNER, true), StoreService.method.listStores)).toBe(true);
    expect(canCall(as(undefined, true), KeyService.method.createKey)).toBe(true);
    expect(canCall(as(ConsoleRole.VIEWER), ConsoleService.method.getConsoleSession)).toBe(true);
    expect(canCall(as(ConsoleRole.OWNER), KeyService.method.createAccessToken)).toBe(false);
  });

  it("lets only ADMIN, OWNER and the platform administrator change LIVE things", () => {
    expect(changesLive(as(ConsoleRole.VIEWER))).toBe(false);
    expect(changesLive(as(ConsoleRole.DEVELOPER))).toBe(false);
    expect(changesLive(as(ConsoleRole.ADMIN))).toBe(true);
    expect(changesLive(as(ConsoleRole.OWNER))).toBe(true);
    expect(changesLive(as(undefined, true))).toBe(true);
    expect(changesLive(as(undefined))).toBe(false);
  });
});
