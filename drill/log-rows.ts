/**
 * What the drills read back from a server's database once the load has stopped, on either
 * backend: the event log's rows, and whether the outbox has drained.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { query } from "../test/support/db.js";
import type { LogRow } from "./ground-postgres-check.js";

export async function logRows(db: { databaseUrl: string }): Promise<LogRow[]> {
  const rows = await query<LogRow>(db, `select aggregate_id as "userId", sequence, type from events order by aggregate_id, sequence`);
  return rows.map((row) => ({ ...row, sequence: Number(row.sequence) }));
}

/** Waits until the outbox is empty; false if it is not within `limitMs`. */
export async function outboxDrained(db: { databaseUrl: string }, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const [row] = await query<{ n: string }>(db, "select count(*) as n from outbox");
    if (Number(row!.n) === 0) return true;
    await sleep(100);
  }
  return false;
}
