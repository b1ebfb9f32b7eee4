/**
 * The wal-index peek (src/store/sqlite/wal-index-peek.ts) answers "nothing committed since the
 * last look" only when nothing did: real SQLite files, written through other connections as a
 * cluster's workers and the CLI write them. The stores' caches rest on it: a commit it missed
 * would leave a worker serving a stale user (test/sqlite-user-cache.test.ts, test/workers.test.ts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { WalIndexPeek } from "../src/store/sqlite/wal-index-peek.js";

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const each of opened.splice(0).reverse()) each.close();
});

/** A SQLite file in WAL mode with a table, and `n` connections to it. */
function walFile(n: number): { file: string; connections: Database.Database[] } {
  const file = join(mkdtempSync(join(tmpdir(), "zus-peek-")), "peek.db");
  const connections = Array.from({ length: n }, () => {
    const connection = new Database(file);
    opened.push(connection);
    return connection;
  });
  connections[0]!.pragma("journal_mode = WAL");
  connections[0]!.exec("create table t (n integer)");
  return { file, connections };
}

function peekAt(file: string): WalIndexPeek {
  const peek = WalIndexPeek.open(file)!;
  expect(peek).toBeDefined();
  opened.push(peek);
  return peek;
}

describe("WalIndexPeek", () => {
  it("says nothing changed only while no connection commits", () => {
    const { file, connections } = walFile(2);
    const [own, other] = connections as [Database.Database, Database.Database];
    const peek = peekAt(file);
    // Never looked yet: a look is due.
    expect(peek.changedSinceLastLook()).toBe(true);
    expect(peek.changedSinceLastLook()).toBe(false);
    expect(peek.changedSinceLastLook()).toBe(false);

    other.prepare("insert into t values (1)").run();
    expect(peek.changedSinceLastLook()).toBe(true);
    expect(peek.changedSinceLastLook()).toBe(false);

    own.prepare("insert into t values (2)").run();
    expect(peek.changedSinceLastLook()).toBe(true);
    expect(peek.changedSinceLastLook()).toBe(false);

    // Reads commit nothing.
    other.prepare("select count(*) from t").get();
    expect(peek.changedSinceLastLook()).toBe(false);
  });

  it("sees every commit of a burst of other connections' transactions, and a restart of the -wal file", () => {
    const { file, connections } = walFile(3);
    const peek = peekAt(file);
    peek.changedSinceLastLook();
    for (let i = 0; i < 200; i++) {
      connections[1 + (i % 2)]!.prepare("insert into t values (?)").run(i);
      expect(peek.changedSinceLastLook(), `commit ${i}`).toBe(true);
      expect(peek.changedSinceLastLook()).toBe(false);
    }
    connections[1]!.pragma("wal_checkpoint(TRUNCATE)");
    connections[2]!.prepare("insert into t values (-1)").run();
    expect(peek.changedSinceLastLook()).toBe(true);
    expect(peek.changedSinceLastLook()).toBe(false);
  });

  it("is not made where there is no -shm file (a database not in WAL mode)", () => {
    const file = join(mkdtempSync(join(tmpdir(), "zus-peek-")), "rollback.db");
    const connection = new Database(file);
    opened.push(connection);
    connection.exec("create table t (n integer)");
    expect(WalIndexPeek.open(file)).toBeUndefined();
  });
});
