/**
 * SQLite group commit on its own: the writes of one event-loop turn share a transaction, each
 * in a savepoint (a write alone in none). A write that fails is undone alone; an error with which SQLite abandons the
 * whole transaction fails the whole batch, so no caller is told "failed" for a change that was
 * in fact committed, or "done" for one that was not.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { DISK_FULL, DiskSpell } from "../src/store/sqlite/disk-full.js";
import { GroupCommit } from "../src/store/sqlite/group-commit.js";
import { WalSync } from "../src/store/sqlite/wal-sync.js";

function setUp() {
  const sqlite = new Database(":memory:");
  sqlite.exec("create table names (name text primary key)");
  const commits = new GroupCommit(sqlite, sqlite, new WalSync(async () => undefined));
  const insert = (name: string) => (db: Database.Database) => db.prepare("insert into names values (?)").run(name);
  const stored = () => sqlite.prepare("select name from names order by name").pluck().all();
  return { sqlite, commits, insert, stored };
}

describe("GroupCommit", () => {
  it("undoes only the write that failed, after it had written part of itself", async () => {
    const { commits, insert, stored } = setUp();
    await commits.write(insert("taken"));
    const committed: string[] = [];
    const raced = await Promise.allSettled([
      commits.write(insert("a"), () => committed.push("a")),
      commits.write(
        (db) => {
          insert("half")(db);
          insert("taken")(db);
        },
        () => committed.push("failing"),
      ),
      commits.write(insert("c"), () => committed.push("c")),
    ]);
    expect(raced.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((raced[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(committed).toEqual(["a", "c"]);
    expect(stored()).toEqual(["a", "c", "taken"]);
  });

  it("fails the whole batch when SQLite abandons the transaction, and the next batch commits", async () => {
    const { sqlite, commits, insert, stored } = setUp();
    await commits.write(insert("taken"));
    const committed: string[] = [];
    // INSERT OR ROLLBACK ends the whole transaction on a conflict, as a full disk or an I/O error does.
    const abandoning = (db: Database.Database) => db.prepare("insert or rollback into names values ('taken')").run();
    const raced = await Promise.allSettled([
      commits.write(insert("a"), () => committed.push("a")),
      commits.write(abandoning, () => committed.push("abandoning")),
      commits.write(insert("c"), () => committed.push("c")),
    ]);
    expect(raced.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(committed).toEqual([]);
    expect(stored()).toEqual(["taken"]);
    expect(sqlite.inTransaction).toBe(false);

    await commits.write(insert("after"));
    expect(stored()).toEqual(["after", "taken"]);
  });

  it("a write alone in its transaction (no savepoint): its failure undoes all of it, and the next write commits", async () => {
    const { sqlite, commits, insert, stored } = setUp();
    await commits.write(insert("taken"));
    const committed: string[] = [];
    const failing = commits.write(
      (db) => {
        insert("half")(db);
        insert("taken")(db);
      },
      () => committed.push("failing"),
    );
    await expect(failing).rejects.toThrow(/UNIQUE/);
    expect(committed).toEqual([]);
    expect(stored()).toEqual(["taken"]);
    expect(sqlite.inTransaction).toBe(false);

    await commits.write(insert("after"), () => committed.push("after"));
    expect(committed).toEqual(["after"]);
    expect(stored()).toEqual(["after", "taken"]);
  });

  it("ends every transaction with the epilogue, after its writes, and commits it with them", async () => {
    const sqlite = new Database(":memory:");
    sqlite.exec("create table names (name text primary key); create table batches (size integer)");
    let written = 0;
    const epilogue = {
      write: (db: Database.Database) => db.prepare("insert into batches values (?)").run(written),
      discard: () => undefined,
    };
    const commits = new GroupCommit(sqlite, sqlite, new WalSync(async () => undefined), epilogue);
    const insert = (name: string) => (db: Database.Database) => {
      db.prepare("insert into names values (?)").run(name);
      written++;
    };
    await Promise.all([commits.write(insert("a")), commits.write(insert("b")), commits.write(insert("c"))]);
    await commits.write(insert("d"));
    expect(sqlite.prepare("select size from batches").pluck().all()).toEqual([3, 4]);
  });

  it("discards the epilogue's gathering when the transaction is abandoned, and writes nothing of it", async () => {
    const sqlite = new Database(":memory:");
    sqlite.exec("create table names (name text primary key); create table ends (n integer)");
    const events: string[] = [];
    const epilogue = {
      write: (db: Database.Database) => {
        events.push("write");
        db.prepare("insert into ends values (1)").run();
      },
      discard: () => events.push("discard"),
    };
    const commits = new GroupCommit(sqlite, sqlite, new WalSync(async () => undefined), epilogue);
    await commits.write((db) => db.prepare("insert into names values ('taken')").run());
    const abandoning = (db: Database.Database) => db.prepare("insert or rollback into names values ('taken')").run();
    const raced = await Promise.allSettled([commits.write((db) => db.prepare("insert into names values ('a')").run()), commits.write(abandoning)]);
    expect(raced.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(events).toEqual(["write", "discard"]);
    expect(sqlite.prepare("select count(*) from ends").pluck().get()).toBe(1);
  });

  it("where another process holds the write lock, waits for it without blocking the event loop, then commits", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zus-group-commit-")), "db");
    const sqlite = new Database(file);
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("busy_timeout = 5000");
    sqlite.exec("create table names (name text primary key)");
    const commits = new GroupCommit(sqlite, sqlite, new WalSync(async () => undefined), undefined, true);
    const other = new Database(file); // another worker, in the middle of its transaction
    other.exec("begin immediate; insert into names values ('other')");

    let written = false;
    const writing = commits.write((db) => db.prepare("insert into names values ('mine')").run()).then(() => (written = true));
    // The event loop turns meanwhile (a busy_timeout sleep would hold it for 5 s, and this
    // process could not even end the other transaction).
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(written).toBe(false);
    expect(Number(sqlite.pragma("busy_timeout", { simple: true }))).toBe(5000);

    other.exec("commit");
    await writing;
    expect(sqlite.prepare("select name from names order by name").pluck().all()).toEqual(["mine", "other"]);
    other.close();
    sqlite.close();
  });

  it("on a full database (SQLITE_FULL) answers every write of the batch Unavailable, and the next batch commits once there is room", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zus-full-"));
    const sqlite = new Database(join(dir, "full.db"));
    sqlite.exec("create table names (name text)");
    const began: string[] = [];
    const spell = new DiskSpell(dir, { began: () => began.push("full"), ended: () => began.push("room") });
    const commits = new GroupCommit(sqlite, sqlite, new WalSync(async () => undefined), undefined, false, spell);
    // SQLite's own page limit gives the SQLITE_FULL a full disk gives, without filling one.
    const pages = Number(sqlite.pragma("page_count", { simple: true }));
    sqlite.pragma(`max_page_count = ${pages + 1}`);
    const big = (db: Database.Database) => db.prepare("insert into names values (?)").run("x".repeat(20_000));
    const raced = await Promise.allSettled([commits.write(big), commits.write(big), commits.write(big)]);
    for (const outcome of raced) {
      expect(outcome.status).toBe("rejected");
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ kind: "Unavailable", text: DISK_FULL });
    }
    expect(await commits.write(big).catch((err: unknown) => err)).toMatchObject({ kind: "Unavailable" });
    expect(began, "one spell, said once").toEqual(["full"]);
    expect(sqlite.prepare("select count(*) from names").pluck().get()).toBe(0);

    sqlite.pragma("max_page_count = 1073741823");
    await commits.write(big);
    expect(began).toEqual(["full", "room"]);
    expect(sqlite.prepare("select count(*) from names").pluck().get()).toBe(1);
    sqlite.close();
  });
});
