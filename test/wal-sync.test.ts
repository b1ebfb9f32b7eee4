/**
 * Durability of SQLite writes: nothing is acknowledged (and no read answers with it) before
 * an fdatasync of the -wal file that started after its COMMIT has finished; a failed
 * fdatasync refuses every later write. WalSync alone with a hand-driven flush, then the
 * SQLite store on a real file with the flush wrapped. Checkpoints run on a thread of their own.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { applyEvent, type RecordedUserEvent } from "../src/domain/events.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { walFlusher, WalSync } from "../src/store/sqlite/wal-sync.js";
import type { UserCommit } from "../src/store/store.js";

/** A flush that finishes only when the test says so. */
function heldFlushes() {
  const held: { finish: () => void; fail: (err: Error) => void }[] = [];
  const flush = () => new Promise<void>((finish, fail) => held.push({ finish, fail }));
  return { held, flush };
}

/** The event loop's next turn: what setImmediate queued meanwhile has run. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** Whether a promise has settled, after letting every pending callback run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await nextTurn();
  return done;
}

describe("WalSync", () => {
  it("starts a flush for the first commit and answers when it finishes", async () => {
    const { held, flush } = heldFlushes();
    const sync = new WalSync(flush);
    expect(sync.pending()).toBeUndefined();
    const first = sync.durable();
    expect(held).toHaveLength(1);
    expect(sync.pending()).toBeDefined();
    expect(await settled(first)).toBe(false);
    held[0]!.finish();
    expect(await settled(first)).toBe(true);
    expect(sync.pending()).toBeUndefined();
  });

  it("makes commits written during a flush wait for the next one, which they all share", async () => {
    const { held, flush } = heldFlushes();
    const sync = new WalSync(flush);
    const first = sync.durable();
    const later = [sync.durable(), sync.durable(), sync.durable()];
    expect(held).toHaveLength(1); // the next flush starts only when the running one ends
    held[0]!.finish();
    expect(await settled(first)).toBe(true);
    expect(await settled(Promise.race(later))).toBe(false);
    expect(held).toHaveLength(2);
    const read = sync.pending();
    held[1]!.finish();
    expect(await settled(Promise.all(later))).toBe(true);
    expect(await settled(read!)).toBe(true);
    expect(held).toHaveLength(2);
  });

  it("refuses every write after a failed flush, without flushing again", async () => {
    const { held, flush } = heldFlushes();
    const sync = new WalSync(flush);
    const first = sync.durable();
    const waiting = sync.durable();
    held[0]!.fail(new Error("EIO"));
    await expect(first).rejects.toThrow("EIO");
    expect(sync.failed?.message).toBe("EIO");
    // A commit written during the failed flush is refused, not trusted to a later flush that
    // might succeed after the kernel dropped its pages.
    await expect(waiting).rejects.toThrow("EIO");
    await expect(sync.durable()).rejects.toThrow("EIO");
    expect(held).toHaveLength(1);
  });

  it("lets a flush asked for soon share this turn's commit flush, or start its own a turn later", async () => {
    const { held, flush } = heldFlushes();
    const sync = new WalSync(flush);
    // Another connection's commit seen, then a commit of this turn: one flush for both.
    const seen = sync.durableSoon();
    expect(held).toHaveLength(0);
    expect(sync.pending()).toBe(seen);
    await nextTurn();
    const own = sync.durable();
    await nextTurn();
    expect(held).toHaveLength(1);
    held[0]!.finish();
    expect(await settled(Promise.all([seen, own]))).toBe(true);

    // Nothing committed here: its own flush starts a turn later, and a read waits for it.
    const alone = sync.durableSoon();
    expect(await settled(alone)).toBe(false);
    await nextTurn();
    expect(held).toHaveLength(2);
    expect(await settled(sync.pending()!)).toBe(false);
    held[1]!.finish();
    expect(await settled(alone)).toBe(true);
    expect(sync.pending()).toBeUndefined();
  });

  it("makes a flush asked for soon during a running flush wait for the next one", async () => {
    const { held, flush } = heldFlushes();
    const sync = new WalSync(flush);
    const running = sync.durable();
    const seen = sync.durableSoon();
    await nextTurn();
    await nextTurn();
    held[0]!.finish();
    expect(await settled(running)).toBe(true);
    // The running flush may have started before the other connection's commit: not enough.
    expect(await settled(seen)).toBe(false);
    expect(held).toHaveLength(2);
    held[1]!.fail(new Error("EIO"));
    await expect(seen).rejects.toThrow("EIO");
    await expect(sync.durableSoon()).rejects.toThrow("EIO");
  });

  it("flushes a real file through a descriptor of its own", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zus-wal-")), "x-wal");
    writeFileSync(file, "frames");
    const flusher = walFlusher(file);
    await expect(flusher.flush()).resolves.toBeUndefined();
    flusher.close();
  });
});

// ---------------------------------------------------------------- the SQLite store

let n = 0;
function newMachine(orgId: string): UserCommit {
  const id = `wal-${++n}`;
  const event: RecordedUserEvent = {
    type: "user.machine.added",
    payload: { orgId, username: id, machine: { name: id, description: "" } },
    userId: id,
    sequence: 1,
    actor: "wal-test",
    createdAt: new Date(),
  };
  return { events: [event], user: applyEvent(undefined, event) };
}

function lockOf(commit: UserCommit): UserCommit {
  const event: RecordedUserEvent = { type: "user.locked", userId: commit.user.id, sequence: 2, actor: "wal-test", createdAt: new Date() };
  return { previous: commit.user, events: [event], user: applyEvent(commit.user, event) };
}

function openWithHeldFlushes() {
  const file = join(mkdtempSync(join(tmpdir(), "zus-wal-")), "zitadel.db");
  const { held, flush } = heldFlushes();
  return { file, store: openSqliteStore(file, { flushWal: flush }), held };
}

describe("SQLite store durability", () => {
  it("keeps what it acknowledged, flushing the real -wal file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zus-wal-")), "zitadel.db");
    const store = openSqliteStore(file);
    await store.addOrganization({ id: "o1", name: "o1", createdAt: new Date() });
    const create = newMachine("o1");
    await store.commitUser(create);
    await store.commitUser(lockOf(create));
    await store.close();
    const reopened = openSqliteStore(file);
    expect((await reopened.getUser(create.user.id))?.flags.locked).toBe(true);
    await reopened.close();
  });

  it("works without WAL where SQLite cannot use it (an in-memory database): SQLite's own fsync", async () => {
    const store = openSqliteStore(":memory:");
    await store.addOrganization({ id: "o1", name: "o1", createdAt: new Date() });
    const create = newMachine("o1");
    await store.commitUser(create);
    await store.commitUser(lockOf(create));
    expect((await store.getUser(create.user.id))?.flags.locked).toBe(true);
    await store.close();
  });

  it("acknowledges a commit, and answers reads of it, only after the flush that follows its COMMIT", async () => {
    const { file, store, held } = openWithHeldFlushes();
    await settledAll(store.addOrganization({ id: "o1", name: "o1", createdAt: new Date() }), held);
    const first = held.length;

    const create = newMachine("o1");
    const creating = store.commitUser(create);
    await nextTurn(); // the group commit runs
    expect(held).toHaveLength(first + 1);
    expect(await settled(creating)).toBe(false);

    // Written to the file already (another connection sees it), but not acknowledged,
    // and a read through the store waits for the same flush.
    const other = new Database(file, { readonly: true });
    expect(other.prepare("select count(*) as n from users where id = ?").get(create.user.id)).toEqual({ n: 1 });
    other.close();
    const reading = store.getUser(create.user.id);
    const listing = store.listUsers({ filters: [], visibleOrgs: "all", callerId: "wal-test", sort: "creationDate", asc: true, offset: 0, limit: 10 });
    expect(await settled(reading)).toBe(false);
    expect(await settled(listing)).toBe(false);

    held[first]!.finish();
    await expect(creating).resolves.toBeUndefined();
    expect((await reading)?.flags.locked).toBe(false);
    expect((await listing).total).toBe(1);

    // A write during a running flush needs the next one.
    const locking = store.commitUser(lockOf(create));
    await nextTurn();
    expect(held).toHaveLength(first + 2);
    expect(await settled(locking)).toBe(false);
    held[first + 1]!.finish();
    await expect(locking).resolves.toBeUndefined();
    expect((await store.getUser(create.user.id))?.flags.locked).toBe(true);
    await store.close();
  });

  it("answers a read that shows another process's commit only after a flush of its own that started after it", async () => {
    const { file, store, held } = openWithHeldFlushes();
    const other = openSqliteStore(file, { owner: false });
    await settledAll(store.addOrganization({ id: "o1", name: "o1", createdAt: new Date() }), held);
    const create = newMachine("o1");
    await other.commitUser(create); // another worker: flushed through its own descriptor
    const first = held.length;

    const reading = store.getUser(create.user.id);
    // Not at once: a commit of this turn would start one that covers it (WalSync.durableSoon).
    expect(held).toHaveLength(first);
    expect(await settled(reading)).toBe(false);
    await nextTurn();
    expect(held).toHaveLength(first + 1);
    expect(await settled(reading)).toBe(false);
    held[first]!.finish();
    expect((await reading)?.id).toBe(create.user.id);
    await other.close();
    await store.close();
  });

  it("refuses writes and reports unready after a failed flush", async () => {
    const { store, held } = openWithHeldFlushes();
    const adding = store.addOrganization({ id: "o1", name: "o1", createdAt: new Date() });
    held[0]!.fail(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await expect(adding).rejects.toThrow("EIO");
    await expect(store.commitUser(newMachine("o1"))).rejects.toThrow("EIO");
    await expect(store.ping()).rejects.toThrow("EIO");
    await store.close();
  });
});

/** Finishes each flush the promise waits for until it settles. */
async function settledAll(promise: Promise<unknown>, held: { finish: () => void }[]): Promise<void> {
  let finished = 0;
  while (!(await settled(promise))) {
    while (finished < held.length) held[finished++]!.finish();
  }
  await promise;
}

describe("SQLite checkpoints", () => {
  it("copy committed pages into the database file from a background thread, below the threshold where a commit would", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zus-wal-")), "zitadel.db");
    const store = openSqliteStore(file);
    await store.addOrganization({ id: "o1", name: "o1", createdAt: new Date() });
    // A few hundred pages: SQLite's own automatic checkpoint starts at 1,000.
    const created = Array.from({ length: 40 }, () => newMachine("o1"));
    for (const commit of created) await store.commitUser(commit);

    /** Users in the database file alone, without its -wal file. */
    const usersInMainFile = () => {
      const copy = join(mkdtempSync(join(tmpdir(), "zus-ckpt-")), "copy.db");
      copyFileSync(file, copy);
      const db = new Database(copy);
      try {
        return (db.prepare("select count(*) as n from users").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    await vi.waitFor(() => expect(usersInMainFile()).toBe(created.length), { timeout: 5000, interval: 50 });
    await store.close();
  });
});
