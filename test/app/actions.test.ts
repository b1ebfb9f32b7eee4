/**
 * Actions v2 at app level (app/actions.ts) on every store backend (SQLite, PGlite, and PostgreSQL
 * when TEST_POSTGRES_URL is set): which targets an event goes to (the most specific matching
 * execution, as ZITADEL), what deleting a target does to executions, unique names, unchanged
 * updates and executions, the permissions, and signing keys kept out of anything printed.
 */
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionsApp, type NewTarget } from "../../src/app/actions.js";
import type { EventCondition, Target } from "../../src/domain/actions.js";
import { DomainError } from "../../src/domain/errors.js";
import type { Principal } from "../../src/domain/permissions.js";
import { parseOutboundAllow } from "../../src/security/outbound-urls.js";
import type { Store } from "../../src/store/store.js";
import { STORE_BACKENDS } from "../support/stores.js";

const ADMIN: Principal = { userId: "300000000000000001", orgId: "100000000000000001", grants: [{ role: "IAM_OWNER", orgId: null }] };
const ORG_OWNER: Principal = { userId: "300000000000000002", orgId: "100000000000000001", grants: [{ role: "ORG_OWNER", orgId: "100000000000000001" }] };

let counter = 0;
const newTarget = (overrides: Partial<NewTarget> = {}): NewTarget => ({
  name: `target-${++counter}`,
  type: "rest_webhook",
  interruptOnError: false,
  endpoint: `https://hooks.example.com/${counter}`,
  timeoutMs: 10_000,
  payloadType: "json",
  ...overrides,
});

const event = (name: string): EventCondition => ({ kind: "event", event: name });
const group = (name: string): EventCondition => ({ kind: "group", group: name });
const ALL: EventCondition = { kind: "all" };
const names = (targets: Target[]) => targets.map((target) => target.name);

async function expectError(call: Promise<unknown>, kind: string, id: string | undefined, text: string) {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect(err).toMatchObject({ kind, id, text });
}

describe.each(STORE_BACKENDS)("on $name", (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let clock = Date.UTC(2030, 0, 1);
  let app: ActionsApp;
  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
    app = new ActionsApp(store.actions, parseOutboundAllow(undefined), () => new Date((clock += 1000)));
  });
  afterAll(() => dispose?.());

  /** Removes every execution, so that each test starts with none. */
  async function clearExecutions() {
    const { executions } = await app.listExecutions({ filters: [], sort: "id", asc: true, offset: 0, limit: 1000 }, ADMIN);
    for (const { condition } of executions) await app.setExecution(condition, [], ADMIN);
  }

  it("gives an event to the targets of the most specific execution that matches it, in their order", async () => {
    await clearExecutions();
    const [locked, lockedToo, human, user, all] = await Promise.all(["locked", "locked-too", "human", "user", "all"].map((name) => app.createTarget(newTarget({ name: `${name}-${counter}` }), ADMIN)));
    expect(await app.targetsForEvent("user.locked"), "no execution yet").toEqual([]);

    await app.setExecution(ALL, [all!.id], ADMIN);
    expect(names(await app.targetsForEvent("user.locked"))).toEqual([all!.name]);
    await app.setExecution(group("user"), [user!.id], ADMIN);
    await app.setExecution(group("user.human"), [human!.id], ADMIN);
    await app.setExecution(event("user.locked"), [lockedToo!.id, locked!.id], ADMIN);

    expect(names(await app.targetsForEvent("user.locked")), "its own type, in the order set").toEqual([lockedToo!.name, locked!.name]);
    expect(names(await app.targetsForEvent("user.human.password.check.failed")), "the nearest group").toEqual([human!.name]);
    expect(names(await app.targetsForEvent("user.unlocked"))).toEqual([user!.name]);
    expect(names(await app.targetsForEvent("org.added")), "no group of its own: all").toEqual([all!.name]);
    // What the delivery needs of each target, with the key that signs.
    const [first] = await app.targetsForEvent("user.locked");
    expect(first).toMatchObject({ id: lockedToo!.id, endpoint: lockedToo!.endpoint, timeoutMs: 10_000, type: "rest_webhook", payloadType: "json" });
    expect(first!.signingKey.reveal()).toBe(lockedToo!.signingKey.reveal());

    // Without its own execution, user.locked falls back to the group; without groups, to all.
    await app.setExecution(event("user.locked"), [], ADMIN);
    expect(names(await app.targetsForEvent("user.locked"))).toEqual([user!.name]);
    await app.setExecution(group("user"), [], ADMIN);
    await app.setExecution(group("user.human"), [], ADMIN);
    expect(names(await app.targetsForEvent("user.locked"))).toEqual([all!.name]);
  });

  it("takes a deleted target out of every execution; an execution left with none is gone", async () => {
    await clearExecutions();
    const [a, b] = await Promise.all([app.createTarget(newTarget(), ADMIN), app.createTarget(newTarget({ type: "rest_async" }), ADMIN)]);
    await app.setExecution(event("user.locked"), [a!.id, b!.id], ADMIN);
    await app.setExecution(event("user.unlocked"), [a!.id], ADMIN);

    const deletedAt = await app.deleteTarget(a!.id, ADMIN);
    expect(deletedAt).toBeInstanceOf(Date);
    expect(await app.deleteTarget(a!.id, ADMIN), "a second delete is no error, and deletes nothing").toBeUndefined();
    const { total, executions } = await app.listExecutions({ filters: [], sort: "id", asc: true, offset: 0, limit: 10 }, ADMIN);
    expect(total).toBe(1);
    expect(executions.map((e) => [e.condition, e.targetIds])).toEqual([[event("user.locked"), [b!.id]]]);
    expect(names(await app.targetsForEvent("user.unlocked"))).toEqual([]);
  });

  it("refuses an execution with a target that does not exist, and changes nothing", async () => {
    await clearExecutions();
    const a = await app.createTarget(newTarget(), ADMIN);
    const setAt = await app.setExecution(event("user.locked"), [a.id], ADMIN);
    await expectError(app.setExecution(event("user.locked"), [a.id, "999999999999999999"], ADMIN), "NotFound", "COMMAND-17e8fq1ggk", "Target not found");
    const { executions } = await app.listExecutions({ filters: [], sort: "id", asc: true, offset: 0, limit: 10 }, ADMIN);
    expect(executions).toEqual([{ condition: event("user.locked"), targetIds: [a.id], createdAt: setAt, changedAt: setAt }]);
  });

  it("answers the stored date for an execution set to the targets it has, and keeps the creation date when the targets change", async () => {
    await clearExecutions();
    const [a, b] = await Promise.all([app.createTarget(newTarget(), ADMIN), app.createTarget(newTarget(), ADMIN)]);
    const created = await app.setExecution(group("user"), [a!.id], ADMIN);
    expect(await app.setExecution(group("user.*"), [a!.id], ADMIN), "user.* is the group user: unchanged").toEqual(created);
    const changed = await app.setExecution(group("user"), [b!.id, a!.id], ADMIN);
    expect(changed!.getTime()).toBeGreaterThan(created!.getTime());
    const { executions } = await app.listExecutions({ filters: [{ kind: "target", targetId: b!.id }], sort: "id", asc: true, offset: 0, limit: 10 }, ADMIN);
    expect(executions).toEqual([{ condition: group("user"), targetIds: [b!.id, a!.id], createdAt: created, changedAt: changed }]);
    expect(await app.setExecution(event("user.removed"), [], ADMIN), "nothing to remove").toBeUndefined();
  });

  it("refuses conditions on events this server does not record, as ZITADEL refuses unknown ones", async () => {
    await expectError(app.setExecution(event("org.added"), [], ADMIN), "NotFound", "COMMAND-74aaqj8fv9", "Execution condition is invalid");
    await expectError(app.setExecution(group("org"), [], ADMIN), "NotFound", "COMMAND-er5oneb5lz", "Execution condition is invalid");
    await expectError(app.setExecution(group("user.locked"), [], ADMIN), "NotFound", "COMMAND-er5oneb5lz", "Execution condition is invalid");
  });

  it("keeps target names unique, on create and on rename", async () => {
    const a = await app.createTarget(newTarget(), ADMIN);
    const b = await app.createTarget(newTarget(), ADMIN);
    await expectError(app.createTarget(newTarget({ name: a.name }), ADMIN), "AlreadyExists", "V3-DKcYh", "Errors.Target.AlreadyExists");
    await expectError(app.updateTarget(b.id, { name: a.name, payloadType: "unspecified", rotateSigningKey: false }, ADMIN), "AlreadyExists", "V3-DKcYh", "Errors.Target.AlreadyExists");
    expect((await app.getTarget(b.id, ADMIN)).name).toBe(b.name);
  });

  it("changes only what an update sets, replaces the key only when asked, and writes nothing when nothing changes", async () => {
    const a = await app.createTarget(newTarget({ payloadType: "unspecified" }), ADMIN);
    const same = await app.updateTarget(a.id, { name: a.name, endpoint: a.endpoint, payloadType: "unspecified", rotateSigningKey: false }, ADMIN);
    expect(same).toEqual({ changedAt: a.changedAt });

    const changed = await app.updateTarget(a.id, { kind: { type: "rest_async", interruptOnError: false }, timeoutMs: 5000, payloadType: "json", rotateSigningKey: false }, ADMIN);
    expect(changed.signingKey).toBeUndefined();
    const stored = await app.getTarget(a.id, ADMIN);
    expect(stored).toMatchObject({ name: a.name, endpoint: a.endpoint, type: "rest_async", timeoutMs: 5000, payloadType: "json", createdAt: a.createdAt, changedAt: changed.changedAt });
    expect(stored.signingKey.reveal()).toBe(a.signingKey.reveal());

    const rotated = await app.updateTarget(a.id, { payloadType: "unspecified", rotateSigningKey: true }, ADMIN);
    expect(rotated.signingKey!.reveal()).not.toBe(a.signingKey.reveal());
    expect((await app.getTarget(a.id, ADMIN)).signingKey.reveal()).toBe(rotated.signingKey!.reveal());

    await app.deleteTarget(a.id, ADMIN);
    await expectError(app.updateTarget(a.id, { payloadType: "json", rotateSigningKey: false }, ADMIN), "NotFound", "COMMAND-xj14f2cccn", "Target not found");
    await expectError(app.getTarget(a.id, ADMIN), "NotFound", "QUERY-hj5oaniyrz", "Target not found");
  });

  it("refuses every call to a caller without the instance's action permissions", async () => {
    const a = await app.createTarget(newTarget(), ADMIN);
    const denied = (call: Promise<unknown>) => expectError(call, "PermissionDenied", "AUTH-AWfge", "No matching permissions found");
    await denied(app.createTarget(newTarget(), ORG_OWNER));
    await denied(app.updateTarget(a.id, { payloadType: "json", rotateSigningKey: true }, ORG_OWNER));
    await denied(app.deleteTarget(a.id, ORG_OWNER));
    await denied(app.getTarget(a.id, ORG_OWNER));
    await denied(app.listTargets({ filters: [], sort: "id", asc: true, offset: 0, limit: 10 }, ORG_OWNER));
    await denied(app.setExecution(event("user.locked"), [a.id], ORG_OWNER));
    await denied(app.listExecutions({ filters: [], sort: "id", asc: true, offset: 0, limit: 10 }, ORG_OWNER));
    expect((await app.getTarget(a.id, ADMIN)).signingKey.reveal()).toBe(a.signingKey.reveal());
  });

  it("lists targets filtered by name and id, sorted and paged", async () => {
    const prefix = `list-${counter}`;
    const made = [];
    for (const name of ["b", "a", "C"]) made.push(await app.createTarget(newTarget({ name: `${prefix}-${name}` }), ADMIN));
    const list = (filters: Parameters<ActionsApp["listTargets"]>[0]["filters"], more: { sort?: "name" | "creationDate"; asc?: boolean; offset?: number; limit?: number } = {}) =>
      app.listTargets({ filters, sort: more.sort ?? "creationDate", asc: more.asc ?? false, offset: more.offset ?? 0, limit: more.limit ?? 10 }, ADMIN);
    const byPrefix = { kind: "name" as const, value: prefix, match: "startsWith" as const };

    expect(names((await list([byPrefix])).targets), "newest first by default").toEqual([`${prefix}-C`, `${prefix}-a`, `${prefix}-b`]);
    expect(names((await list([byPrefix], { sort: "name", asc: true })).targets)).toEqual([`${prefix}-C`, `${prefix}-a`, `${prefix}-b`].sort());
    const page = await list([byPrefix], { sort: "name", asc: true, offset: 1, limit: 1 });
    expect(page.total).toBe(3);
    expect(names(page.targets)).toEqual([[`${prefix}-C`, `${prefix}-a`, `${prefix}-b`].sort()[1]]);
    expect(names((await list([{ kind: "name", value: `${prefix}-c`, match: "equalsIgnoreCase" }])).targets)).toEqual([`${prefix}-C`]);
    expect(names((await list([{ kind: "name", value: `${prefix}-c`, match: "equals" }])).targets)).toEqual([]);
    expect(names((await list([{ kind: "ids", ids: [made[0]!.id, made[2]!.id] }], { sort: "name", asc: true })).targets)).toEqual([`${prefix}-C`, `${prefix}-b`].sort());
    expect((await list([{ kind: "ids", ids: [] }])).total).toBe(0);
  });

  it("keeps the signing key out of anything that prints a target", async () => {
    const a = await app.createTarget(newTarget(), ADMIN);
    const key = a.signingKey.reveal();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const printed of [JSON.stringify(a), inspect(a, { depth: 5 }), `${a.signingKey}`, String(a.signingKey)]) {
      expect(printed).not.toContain(key);
      expect(printed).toContain("[redacted]");
    }
  });
});
