/**
 * The event log by position (src/store/event-log.ts) on every backend: events after a position
 * in commit order, each once across reads of any size, positions that travel as text, and on
 * PostgreSQL the trap of DESIGN.md (Storage): an event whose transaction took its id first but
 * commits last is neither skipped nor delivered before it commits. Plus the snapshot algebra of
 * PostgreSQL's positions.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { UserApp } from "../src/app/user-app.js";
import type { Principal } from "../src/domain/permissions.js";
import type { EventPosition, LoggedEvent } from "../src/store/event-log.js";
import { below, covers, includes, merge, parseSnapshot, parseSnapshotPosition, snapshotPositionText, union, visible } from "../src/store/postgres/snapshot-position.js";
import type { Store } from "../src/store/store.js";
import { createDatabase, POSTGRES_URL } from "./support/postgres.js";
import { STORE_BACKENDS } from "./support/stores.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";

/** Reads everything after `from`, `limit` at a time, as the hub and a backlog do. */
/**
 * Reads from `from` until at least `want` events came (or 10 s passed). On PostgreSQL a committed
 * event may be held back a moment while any older transaction on the server is still open (another
 * test's, in another database): the log gives it once that ends (snapshot-position.ts).
 */
async function readAll(store: Store, from: EventPosition, limit: number, want: number): Promise<{ events: LoggedEvent[]; end: EventPosition }> {
  const events: LoggedEvent[] = [];
  let position = from;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const read = await store.log.eventsAfter(position, limit);
    events.push(...read.events);
    position = read.end;
    if (read.events.length === limit) continue;
    if (events.length >= want || Date.now() > deadline) return { events, end: position };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const key = (e: LoggedEvent) => `${e.event.userId}#${e.event.sequence}`;

describe.each(STORE_BACKENDS)("the event log on $name", (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let app: UserApp;
  let admin: Principal;
  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
    app = new UserApp(store);
    const org = await app.addOrganization("log");
    const { userId } = await app.addMachineUser(org.id, "log-admin", "ORG_OWNER");
    admin = { userId, orgId: org.id, grants: [{ role: "ORG_OWNER", orgId: org.id }] };
  });
  afterAll(() => dispose?.());

  const addUser = async () =>
    (await app.addHuman({ orgId: admin.orgId, username: `u-${Math.random()}`, profile: { givenName: "A", familyName: "B" }, email: "a@b.c", emailVerified: true, passwordChangeRequired: false }, admin)).userId;

  it("gives what committed after a position, each event once, in each user's order, whatever the read size", async () => {
    const start = await store.log.head();
    const ids = [await addUser(), await addUser(), await addUser()];
    for (let i = 0; i < 4; i++) {
      for (const id of ids) await app.changeState(i % 2 ? "unlock" : "lock", id, admin);
    }
    const expected = ids.flatMap((id) => [1, 2, 3, 4, 5].map((s) => `${id}#${s}`));
    for (const limit of [1, 2, 7, 1000]) {
      const { events } = await readAll(store, start, limit, expected.length);
      expect(events.map(key).sort()).toEqual([...expected].sort());
      for (const id of ids) expect(events.filter((e) => e.event.userId === id).map((e) => e.event.sequence)).toEqual([1, 2, 3, 4, 5]);
      for (const e of events) expect(e.orgId).toBe(admin.orgId);
    }
  });

  it("covers with each event's position that event and those before it, and nothing after", async () => {
    const start = await store.log.head();
    const id = await addUser();
    await app.changeState("lock", id, admin);
    const { events, end } = await readAll(store, start, 1, 2);
    const { positions } = store.log;
    expect(events).toHaveLength(2);
    expect(positions.covers(start, events[0]!.mark)).toBe(false);
    expect(positions.covers(events[0]!.after, events[0]!.mark)).toBe(true);
    expect(positions.covers(events[0]!.after, events[1]!.mark)).toBe(false);
    expect(positions.covers(end, events[1]!.mark)).toBe(true);
    expect(positions.merge(start, events[0]!.after)).toEqual(events[0]!.after);
    // A position survives its trip through text.
    const text = positions.format(events[0]!.after);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(positions.parse(text)).toEqual(events[0]!.after);
    expect((await store.log.eventsAfter(positions.parse(text)!, 10)).events.map(key)).toEqual([key(events[1]!)]);
    expect(positions.parse("%%%")).toBeUndefined();
    expect(positions.parse(Buffer.from("not:a:position:at:all").toString("base64url"))).toBeUndefined();
  });

  it("gives a user's events newest first, as many as the limit, from the latest or from below a sequence", async () => {
    const id = await addUser();
    // Another user's events in between, with the same sequences: none of them may show.
    const other = await addUser();
    for (let i = 0; i < 4; i++) {
      for (const user of [id, other]) await app.changeState(i % 2 ? "unlock" : "lock", user, admin);
    }
    const sequences = async (before: number | undefined, limit: number) => (await store.log.userEvents(id, before, limit)).events.map((e) => e.sequence);
    const { events } = await store.log.userEvents(id, undefined, 10);
    expect(events.map((e) => [e.userId, e.sequence, e.type])).toEqual([
      [id, 5, "user.unlocked"],
      [id, 4, "user.locked"],
      [id, 3, "user.unlocked"],
      [id, 2, "user.locked"],
      [id, 1, "user.human.added"],
    ]);
    expect(await sequences(undefined, 2)).toEqual([5, 4]);
    expect(await sequences(4, 2)).toEqual([3, 2]);
    expect(await sequences(2, 10)).toEqual([1]);
    expect(await sequences(1, 10)).toEqual([]);
    expect((await store.log.userEvents("no-such-user", undefined, 10)).events).toEqual([]);
  });

  it("gives with a history page the position that covers exactly what was committed when it was read", async () => {
    const id = await addUser();
    const page = await store.log.userEvents(id, undefined, 10);
    expect(page.events.map((e) => e.sequence)).toEqual([1]);
    await app.changeState("lock", id, admin);
    const { events } = await readAll(store, page.position, 100, 1);
    expect(events.filter((e) => e.event.userId === id).map((e) => e.event.type)).toEqual(["user.locked"]);
  });
});

describe.skipIf(!POSTGRES_URL)("PostgreSQL positions and transactions that commit out of order", () => {
  it("holds back an event behind an older transaction still running, then gives both, the older first", async () => {
    const database = await createDatabase();
    const store = await openPostgresStore(database.url, { poolSize: 3, onIdleError: () => undefined });
    const other = new pg.Client({ connectionString: database.url });
    try {
      await other.connect();
      const start = await store.log.head();
      // The slow writer takes its transaction id first and commits last.
      await other.query("begin");
      await other.query(
        `insert into events (aggregate_id, sequence, type, payload, actor, resource_owner, created_at)
         values ('slow', 1, 'user.unlocked', null, 'test', 'org', now())`,
      );
      await store.log.head();
      const app = new UserApp(store);
      const org = await app.addOrganization("ooo");
      await app.addMachineUser(org.id, "fast", "ORG_OWNER");

      const during = await store.log.eventsAfter(start, 100);
      expect(during.events).toEqual([]);
      await other.query("commit");
      const after = await store.log.eventsAfter(during.end, 100);
      expect(after.events.map((e) => e.event.userId)).toHaveLength(2);
      expect(after.events[0]!.event.userId).toBe("slow");
      expect(after.events.map((e) => e.event.type)).toEqual(["user.unlocked", "user.machine.added"]);
    } finally {
      await other.end();
      await store.close();
      await database.drop();
    }
  });
});

describe("PostgreSQL snapshot positions", () => {
  const s = (text: string) => parseSnapshot(text)!;

  it("reads PostgreSQL's snapshot text and refuses what is not one", () => {
    expect(s("10:20:12,15")).toEqual({ xmin: 10n, xmax: 20n, xip: [12n, 15n] });
    expect(s("20:20:")).toEqual({ xmin: 20n, xmax: 20n, xip: [] });
    for (const bad of ["", "1:2", "20:10:", "10:20:25", "10:20:15,12", "10:20:12,12", "a:b:", "10:20:12:"]) expect(parseSnapshot(bad)).toBeUndefined();
    expect(parseSnapshotPosition("10:20:12;12.7")).toEqual({ snapshot: s("10:20:12"), partial: { tx: 12n, id: 7 } });
    // A partial read of a transaction the snapshot already shows is not a position we give.
    expect(parseSnapshotPosition("10:20:12;11.7")).toBeUndefined();
    expect(snapshotPositionText({ snapshot: s("10:20:12,15"), partial: { tx: 15n, id: 3 } })).toBe("10:20:12,15;15.3");
  });

  it("sees a transaction as committed below xmin, and between xmin and xmax unless it was running", () => {
    const snapshot = s("10:20:12,15");
    expect([9n, 10n, 11n, 12n, 15n, 19n, 20n].map((x) => visible(x, snapshot))).toEqual([true, true, true, false, false, true, false]);
  });

  it("joins snapshots to what either shows, and horizons to everything below them", () => {
    expect(union(s("10:20:12,15"), s("14:18:14,16"))).toEqual(s("20:20:"));
    expect(union(s("10:20:12,15"), s("10:14:12"))).toEqual(s("12:20:12,15"));
    expect(union(s("10:20:12,15"), s("13:16:13,15"))).toEqual(s("15:20:15"));
    expect(union(s("10:20:12,15"), below(13n))).toEqual(s("15:20:15"));
    expect(union(s("10:20:12,15"), below(25n))).toEqual(s("25:25:"));
    expect(union(below(5n), s("10:20:12,15"))).toEqual(s("12:20:12,15"));
  });

  it("covers a partly read transaction up to its row, and merges such reads", () => {
    const position = { snapshot: s("12:20:12,15"), partial: { tx: 12n, id: 40 } };
    expect(covers(position, { tx: 12n, id: 40 })).toBe(true);
    expect(covers(position, { tx: 12n, id: 41 })).toBe(false);
    expect(covers(position, { tx: 15n, id: 1 })).toBe(false);
    expect(merge(position, { snapshot: s("12:20:12,15"), partial: { tx: 12n, id: 44 } })).toEqual({ snapshot: s("12:20:12,15"), partial: { tx: 12n, id: 44 } });
    expect(merge(position, { snapshot: below(13n) })).toEqual({ snapshot: s("15:20:15") });
  });

  it("includes another position only where it shows every transaction that one shows", () => {
    const at = (text: string) => ({ snapshot: s(text) });
    // A horizon below a running transaction does not include a snapshot that shows a newer one committed.
    expect(includes({ snapshot: below(12n) }, at("12:14:12"))).toBe(false);
    expect(includes({ snapshot: below(14n) }, at("12:14:12"))).toBe(true);
    expect(includes(at("12:14:12"), { snapshot: below(12n) })).toBe(true);
    // What the other shows running from this one's xmax on is no gap.
    expect(includes(at("10:12:10"), at("10:15:10,12,13,14"))).toBe(true);
    expect(includes(at("10:12:10"), at("10:15:10,12,14"))).toBe(false);
    expect(includes(at("10:12:10"), at("13:15:13,14"))).toBe(false);
    // Running here, committed there.
    expect(includes(at("10:20:12,15"), at("10:20:12"))).toBe(false);
    expect(includes(at("10:20:12"), at("10:20:12,15"))).toBe(true);
    // A partly read transaction, up to its row.
    const partly = { snapshot: s("12:20:12"), partial: { tx: 12n, id: 40 } };
    expect(includes(partly, { snapshot: s("12:20:12"), partial: { tx: 12n, id: 40 } })).toBe(true);
    expect(includes(partly, { snapshot: s("12:20:12"), partial: { tx: 12n, id: 41 } })).toBe(false);
    expect(includes(at("12:20:12"), partly)).toBe(false);
  });
});

describe("SQLite: the events this process committed", () => {
  const file = join(mkdtempSync(join(tmpdir(), "zus-event-log-")), "db");
  let mine: Store;
  let other: Store;
  let app: UserApp;
  let admin: Principal;
  beforeAll(async () => {
    mine = openSqliteStore(file);
    // Another process on the file, as a cluster's worker is.
    other = openSqliteStore(file, { owner: false });
    app = new UserApp(mine);
    const org = await app.addOrganization("recent");
    const { userId } = await app.addMachineUser(org.id, "recent-admin", "ORG_OWNER");
    admin = { userId, orgId: org.id, grants: [{ role: "ORG_OWNER", orgId: org.id }] };
  });
  afterAll(async () => {
    await other?.close();
    await mine?.close();
  });

  const addUser = async (on = app) =>
    (await on.addHuman({ orgId: admin.orgId, username: `u-${Math.random()}`, profile: { givenName: "A", familyName: "B" }, email: "a@b.c", emailVerified: true, passwordChangeRequired: false }, admin)).userId;

  it("are given without reading them back, as the file gives them", async () => {
    const start = await mine.log.head();
    const id = await addUser();
    await app.lockWithRecord(id, admin, { reason: "why ✓", end: { inSeconds: 3600 } });
    await app.changeState("unlock", id, admin);
    await app.changeState("lock", id, admin);
    const parse = vi.spyOn(JSON, "parse");
    try {
      const held = await mine.log.eventsAfter(start, 100);
      // Each payload parsed from its row's text is a read of the file.
      expect(parse).not.toHaveBeenCalled();
      const read = await other.log.eventsAfter(start, 100);
      expect(parse).toHaveBeenCalled();
      expect(held.events.map(key)).toEqual([1, 2, 3, 4].map((s) => `${id}#${s}`));
      expect(held).toEqual(read);
    } finally {
      parse.mockRestore();
    }
  });

  it("give way to the file where another process committed in between, so that nothing is skipped", async () => {
    const [a, b] = [await addUser(), await addUser()];
    const start = await mine.log.head();
    await app.changeState("lock", a, admin);
    await new UserApp(other).changeState("lock", b, admin);
    await app.changeState("unlock", a, admin);
    for (const limit of [1, 2, 100]) {
      const { events } = await readAll(mine, start, limit, 3);
      expect(events.map(key)).toEqual([`${a}#2`, `${b}#2`, `${a}#3`]);
    }
  });
});
