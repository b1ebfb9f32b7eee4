/**
 * What the delivery drill reads from the database after the run: whether everything was
 * delivered (nothing left to send in the outbox, nothing unacknowledged on the poll stream), and
 * the drill users' locks and unlocks as the event log committed them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { query } from "../test/support/db.js";
import type { LoggedEvent } from "./delivery-check.js";
import type { DrillUser } from "./lock-unlock-load.js";

type Db = { databaseUrl: string };

/** How long the outbox may take to empty after the load. */
const DRAIN_LIMIT_MS = 10 * 60_000;

/** Waits until the outbox holds nothing to send and the poll stream nothing unacknowledged; parked deliveries are violations. */
export async function drain(db: Db, pollStreamId: string, violations: string[]): Promise<void> {
  const deadline = Date.now() + DRAIN_LIMIT_MS;
  for (;;) {
    const [row] = await query<{ waiting: number | string | null; parked: number | string | null }>(
      db,
      "select sum(case when parked then 0 else 1 end) as waiting, sum(case when parked then 1 else 0 end) as parked from outbox",
    );
    const [sets] = await query<{ n: number | string }>(db, "select count(*) as n from ssf_poll_sets where stream_id = ?", [pollStreamId]);
    const waiting = Number(row?.waiting ?? 0);
    const parked = Number(row?.parked ?? 0);
    if (parked > 0) violations.push(`${parked} deliveries were parked`);
    if (parked > 0 || (waiting === 0 && Number(sets!.n) === 0)) return;
    if (Date.now() > deadline) throw new Error(`the outbox still holds ${waiting} deliveries and the poll stream ${sets!.n} SETs after ${DRAIN_LIMIT_MS} ms`);
    await sleep(100);
  }
}

/** The drill users' locks and unlocks in the event log, as committed. */
export async function loggedEvents(db: Db, users: DrillUser[]): Promise<LoggedEvent[]> {
  const ids = users.map((user) => user.id);
  const rows = await query<LoggedEvent>(
    db,
    `select aggregate_id as "userId", sequence, type from events
      where aggregate_id in (${ids.map(() => "?").join(", ")}) and type in ('user.locked', 'user.unlocked')
      order by aggregate_id, sequence`,
    ids,
  );
  return rows.map((row) => ({ ...row, sequence: Number(row.sequence) }));
}
