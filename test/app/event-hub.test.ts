/**
 * The watch hub (src/app/event-hub.ts) on the SQLite store in memory: each listener is handed
 * the events of the users and organizations it named, once each and in log order, and nothing
 * for batches without them; a listener that named none gets every event; `current()` covers
 * what was handed over. And a watcher of one user (src/app/watch.ts), handed none of the other
 * users' events, still gives a heartbeat position past them.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventHub, type HubInterest } from "../../src/app/event-hub.js";
import { startWatch, WatchEnded, type WatchReceiver } from "../../src/app/watch.js";
import { UserApp } from "../../src/app/user-app.js";
import { DomainError } from "../../src/domain/errors.js";
import type { Principal } from "../../src/domain/permissions.js";
import type { EventPosition, LoggedEvent } from "../../src/store/event-log.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";

let store: Store;
let hub: EventHub;
let app: UserApp;
let admin: Principal;
beforeEach(async () => {
  store = openSqliteStore(":memory:");
  // No polling: the hub reads when a commit wakes it.
  hub = new EventHub(store.log, { pollMs: 60_000, batchSize: 1000, onError: (err) => expect.fail(String(err)) });
  app = new UserApp(store, undefined, { committed: () => hub.wake() });
  const org = await app.addOrganization("hub");
  const { userId } = await app.addMachineUser(org.id, "hub-admin", "IAM_OWNER");
  admin = { userId, orgId: org.id, grants: [{ role: "IAM_OWNER", orgId: null }] };
});
afterEach(async () => {
  hub.close();
  await store.close();
});

const addUser = async (orgId: string) =>
  (await app.addHuman({ orgId, username: `u-${Math.random()}`, profile: { givenName: "A", familyName: "B" }, email: "a@b.c", emailVerified: true, passwordChangeRequired: false }, admin)).userId;

/** A listener's hand-overs, each as "user#sequence" of its events. */
async function listen(interest?: HubInterest) {
  const handed: string[][] = [];
  const subscription = await hub.subscribe((events: LoggedEvent[]) => handed.push(events.map((e) => `${e.event.userId}#${e.event.sequence}`)), interest);
  return { handed, subscription, events: () => handed.flat() };
}

/** Until the hub has read everything committed so far. */
async function settled(): Promise<void> {
  const head = store.log.positions.format(await store.log.head());
  const probe = await hub.subscribe(() => undefined, { users: [], orgs: [admin.orgId] });
  while (store.log.positions.format(probe.current()) !== head) await new Promise((resolve) => setTimeout(resolve, 5));
  probe.unsubscribe();
}

describe("the watch hub", () => {
  it("hands each listener the events it named, once each, in log order; everything to one that named nothing", async () => {
    const otherOrg = (await app.addOrganization("other")).id;
    const [a, b, c] = [await addUser(admin.orgId), await addUser(admin.orgId), await addUser(otherOrg)];
    const ofA = await listen({ users: [a], orgs: [] });
    const ofAAndOrg = await listen({ users: [a], orgs: [admin.orgId] });
    const ofOtherOrg = await listen({ users: [], orgs: [otherOrg] });
    const all = await listen();

    for (const id of [a, b, c, a]) await app.changeState("lock", id, admin).then(() => app.changeState("unlock", id, admin));
    await settled();

    expect(ofA.events()).toEqual([`${a}#2`, `${a}#3`, `${a}#4`, `${a}#5`]);
    expect(ofAAndOrg.events()).toEqual([`${a}#2`, `${a}#3`, `${b}#2`, `${b}#3`, `${a}#4`, `${a}#5`]);
    expect(ofOtherOrg.events()).toEqual([`${c}#2`, `${c}#3`]);
    expect(all.events()).toEqual([`${a}#2`, `${a}#3`, `${b}#2`, `${b}#3`, `${c}#2`, `${c}#3`, `${a}#4`, `${a}#5`]);
    // Only hand-overs with its events: none for the batches of b and c.
    expect(ofA.handed.every((events) => events.length > 0)).toBe(true);
    expect(ofOtherOrg.handed.length).toBeLessThan(all.handed.length);
    expect(store.log.positions.format(ofA.subscription.current())).toBe(store.log.positions.format(await store.log.head()));
  });

  it("hands nothing more after unsubscribe, to that listener alone", async () => {
    const a = await addUser(admin.orgId);
    const first = await listen({ users: [a], orgs: [] });
    const second = await listen({ users: [a], orgs: [] });
    await app.changeState("lock", a, admin);
    await settled();
    first.subscription.unsubscribe();
    await app.changeState("unlock", a, admin);
    await settled();
    expect(first.events()).toEqual([`${a}#2`]);
    expect(second.events()).toEqual([`${a}#2`, `${a}#3`]);
  });
});

describe("a watcher of one user", () => {
  it("sends heartbeats whose position is past the other users' events, then its user's events", async () => {
    const [mine, other] = [await addUser(admin.orgId), await addUser(admin.orgId)];
    const abort = new AbortController();
    const sources = { hub, log: store.log, isActive: async () => true };
    const options = { bufferSize: 100, heartbeatMs: 50, backlogBatch: 500, pollMs: 20, signal: abort.signal };
    const items = received();
    const watch = await startWatch(sources, admin, { userId: mine, types: new Set() }, undefined, options, items.receiver);
    const text = (position: EventPosition) => store.log.positions.format(position);

    const first = await items.message();
    expect(first.kind).toBe("heartbeat");
    await app.changeState("lock", other, admin);
    await app.changeState("unlock", other, admin);
    await settled();
    const beat = await items.message();
    expect(beat.kind).toBe("heartbeat");
    expect(text(beat.position)).not.toBe(text(first.position));
    expect(text(beat.position)).toBe(text(await store.log.head()));

    await app.changeState("lock", mine, admin);
    const event = await items.message();
    expect(event.kind === "event" && `${event.event.event.userId}#${event.event.event.sequence}`).toBe(`${mine}#2`);
    expect(text(event.position)).toBe(text(await store.log.head()));
    abort.abort();
    const end = await items.next();
    expect(end.kind === "end" && end.err instanceof WatchEnded && end.err.reason).toBe("cancelled");
    watch.stop();
  });

  it("holds events while its receiver holds one, hands them over in order on resume, and ends past the buffer with the position of the last one taken", async () => {
    const mine = await addUser(admin.orgId);
    const sources = { hub, log: store.log, isActive: async () => true };
    const options = { bufferSize: 3, heartbeatMs: 60_000, backlogBatch: 500, pollMs: 20, signal: new AbortController().signal };
    const items = received(false);
    const watch = await startWatch(sources, admin, { userId: mine, types: new Set() }, undefined, options, items.receiver);
    const sequences = () => items.all.flatMap((item) => (item.kind === "event" ? [item.event.event.sequence] : []));

    await app.changeState("lock", mine, admin);
    await app.changeState("unlock", mine, admin);
    await app.changeState("lock", mine, admin);
    await settled();
    // The first was refused (held by the receiver): the other two wait.
    expect(sequences()).toEqual([2]);
    watch.resume();
    expect(sequences()).toEqual([2, 3]);
    watch.resume();
    watch.resume();
    expect(sequences()).toEqual([2, 3, 4]);

    for (let i = 0; i < 5; i++) await app.changeState(i % 2 === 0 ? "unlock" : "lock", mine, admin);
    await settled();
    // One handed (5) and held; three wait; the fourth (9) is past the buffer.
    expect(sequences()).toEqual([2, 3, 4, 5]);
    const end = items.all[items.all.length - 1]!;
    expect(end.kind === "end" && end.err instanceof WatchEnded && end.err.reason).toBe("behind");
    const last = items.all[items.all.length - 2]!;
    expect(last.kind === "event" && store.log.positions.format((end as { err: WatchEnded }).err.position)).toBe(last.kind === "event" && store.log.positions.format(last.position));
  });
});

describe("a watcher whose reads find the database unavailable", () => {
  const unavailable = () => Promise.reject(new DomainError("Unavailable", undefined, "The database is unavailable; try again"));

  it("ends, at its caller's token check, with WatchEnded and the position after the last event it sent", async () => {
    const mine = await addUser(admin.orgId);
    let down = false;
    const sources = { hub, log: store.log, isActive: () => (down ? unavailable() : Promise.resolve(true)) };
    const options = { bufferSize: 100, heartbeatMs: 50, backlogBatch: 500, pollMs: 20, signal: new AbortController().signal };
    const items = received();
    const watch = await startWatch(sources, admin, { userId: mine, types: new Set() }, undefined, options, items.receiver);
    expect((await items.message()).kind).toBe("heartbeat");
    await app.changeState("lock", mine, admin);
    const event = await items.message();
    expect(event.kind).toBe("event");
    down = true;
    let end = await items.next();
    while (end.kind === "heartbeat") end = await items.next();
    expect(end.kind === "end" && end.err instanceof WatchEnded && end.err.reason).toBe("unavailable");
    const text = store.log.positions.format;
    expect(text((end as { err: WatchEnded }).err.position)).toBe(text(event.position));
    watch.stop();
  });

  it("ends, in its backlog, with WatchEnded and the position it was asked to start from", async () => {
    const mine = await addUser(admin.orgId);
    const from = await store.log.head();
    await app.changeState("lock", mine, admin);
    const log = Object.assign(Object.create(store.log) as typeof store.log, { eventsAfter: unavailable });
    const options = { bufferSize: 100, heartbeatMs: 60_000, backlogBatch: 500, pollMs: 20, signal: new AbortController().signal };
    const items = received();
    const watch = await startWatch({ hub, log, isActive: async () => true }, admin, { userId: mine, types: new Set() }, from, options, items.receiver);
    const end = await items.next();
    expect(end.kind === "end" && end.err instanceof WatchEnded && end.err.reason).toBe("unavailable");
    expect(store.log.positions.format((end as { err: WatchEnded }).err.position)).toBe(store.log.positions.format(from));
    watch.stop();
  });
});

type Item = { kind: "event"; event: LoggedEvent; position: EventPosition } | { kind: "heartbeat"; position: EventPosition } | { kind: "end"; err: unknown };

/** A receiver that records what it is handed and answers `takes` to each message. */
function received(takes = true) {
  const all: Item[] = [];
  let read = 0;
  let wake: (() => void) | undefined;
  const add = (item: Item) => {
    all.push(item);
    wake?.();
    return takes;
  };
  const receiver: WatchReceiver = {
    event: (event, position) => add({ kind: "event", event, position }),
    heartbeat: (position) => add({ kind: "heartbeat", position }),
    end: (err) => void add({ kind: "end", err }),
  };
  const next = async (): Promise<Item> => {
    while (read === all.length) await new Promise<void>((resolve) => (wake = resolve));
    return all[read++]!;
  };
  /** The next event or heartbeat. */
  const message = async () => {
    const item = await next();
    if (item.kind === "end") throw new Error(`the watch ended: ${String(item.err)}`);
    return item;
  };
  return { all, receiver, next, message };
}
