/**
 * The checkpointer on a disk short of room (src/store/sqlite/checkpointer.ts): a -wal file larger
 * than half the room left beside it is emptied, giving its room back; a smaller one is left,
 * and so is one on a disk that shows no room at all (a spell: something else is filling it).
 * Skipped, saying why, where a tmpfs cannot be mounted (not root).
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { mountTmpfs } from "../drill/tmpfs.js";
import { startCheckpointer } from "../src/store/sqlite/checkpointer.js";

const ROWS = 256;
const ROW_BYTES = 4000;
const KIB = 1024;

/**
 * A database file of about 1 MiB whose every page was then rewritten: its -wal file holds about
 * 1 MiB that a checkpoint copies without the database file growing. The disk is filled but for
 * `leaveBytes`; the checkpointer runs for a few of its rounds; the -wal file's size after them.
 */
async function walAfterCheckpoints(leaveBytes: number): Promise<{ before: number; after: number } | { skipped: string }> {
  const disk = mountTmpfs(6 * KIB);
  if ("refused" in disk) return { skipped: disk.refused };
  const file = join(disk.dir, "wal.db");
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.exec("create table t (b blob)");
    db.prepare(`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${ROWS}) insert into t select randomblob(${ROW_BYTES}) from n`).run();
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.prepare(`update t set b = randomblob(${ROW_BYTES})`).run();
    const before = statSync(`${file}-wal`).size;
    disk.fill(leaveBytes);
    const stop = startCheckpointer(db, file);
    await sleep(500);
    await stop();
    return { before, after: statSync(`${file}-wal`).size };
  } finally {
    db.close();
    disk.unmount();
  }
}

describe("the checkpointer on a disk short of room", () => {
  it("empties a -wal file larger than half the room left", { timeout: 20_000 }, async (ctx) => {
    const wal = await walAfterCheckpoints(600 * KIB);
    if ("skipped" in wal) return ctx.skip(wal.skipped);
    expect(wal.before).toBeGreaterThan(ROWS * ROW_BYTES);
    expect(wal.after).toBe(0);
  });

  it("leaves one smaller than half the room left", { timeout: 20_000 }, async (ctx) => {
    const wal = await walAfterCheckpoints(3072 * KIB);
    if ("skipped" in wal) return ctx.skip(wal.skipped);
    expect(wal.after).toBe(wal.before);
  });

  it("leaves it while the disk shows no room at all", { timeout: 20_000 }, async (ctx) => {
    const wal = await walAfterCheckpoints(0);
    if ("skipped" in wal) return ctx.skip(wal.skipped);
    expect(wal.after).toBe(wal.before);
  });
});
