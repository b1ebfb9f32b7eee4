/**
 * What must hold after a crash and a restart: every change in the client-side log is in the event
 * log, the call cut by the kill is either fully committed or fully absent, nothing else was
 * written, the read model equals the fold of each user's events, and the user counts that
 * ListUsers' totals come from equal counting the users.
 */
import { query } from "../test/support/db.js";
import type { DrillUser } from "./lock-unlock-load.js";

interface StoredEvent {
  userId: string;
  sequence: number;
  type: string;
}

interface StoredRow {
  id: string;
  state: string;
  sequence: number;
  locked: boolean | number;
}

export interface InFlightOutcome {
  committed: number;
  lost: number;
}

/** Last lock or unlock decides; the sequence is the highest event's. */
function fold(events: StoredEvent[]): { locked: boolean; sequence: number } {
  let locked = false;
  for (const event of events) {
    if (event.type === "user.locked") locked = true;
    if (event.type === "user.unlocked") locked = false;
  }
  return { locked, sequence: Math.max(0, ...events.map((e) => e.sequence)) };
}

const describeChange = (change: { type: string; sequence: number }) => `${change.type} #${change.sequence}`;

/**
 * Checks each user, records what broke in `violations`, and settles each in-flight call into the
 * user's log. `counts: false` leaves out the user counts, which only hold still when no other
 * instance is writing (the delivery drill checks one PostgreSQL instance's users while the other
 * one's load goes on).
 */
export async function verifyAfterCrash(
  server: { databaseUrl: string },
  users: DrillUser[],
  violations: string[],
  options: { counts?: boolean } = {},
): Promise<InFlightOutcome> {
  const ids = users.map((u) => u.id);
  const placeholders = ids.map(() => "?").join(", ");
  const [events, rows] = await Promise.all([
    query<StoredEvent>(server, `select aggregate_id as "userId", sequence, type from events where aggregate_id in (${placeholders}) order by sequence`, ids),
    query<StoredRow>(server, `select id, state, sequence, locked from users where id in (${placeholders})`, ids),
  ]);
  const outcome: InFlightOutcome = { committed: 0, lost: 0 };

  for (const user of users) {
    const stored = events.filter((e) => e.userId === user.id).map((e) => ({ ...e, sequence: Number(e.sequence) }));
    const typeAt = new Map(stored.map((e) => [e.sequence, e.type]));
    const known = [
      { sequence: 1, type: "user.human.added", what: "creation" },
      ...user.changes.map((c) => ({ ...c, what: c.acknowledged ? "acknowledged" : "committed in-flight" })),
    ];
    for (const change of known) {
      const found = typeAt.get(change.sequence);
      if (found !== change.type) violations.push(`${user.id}: ${change.what} ${describeChange(change)} is missing (found ${found ?? "nothing"})`);
      typeAt.delete(change.sequence);
    }

    const unexplained = [...typeAt].map(([sequence, type]) => ({ sequence, type }));
    const inFlight = user.inFlight;
    if (inFlight && unexplained.length > 0 && unexplained[0]!.sequence === inFlight.sequence && unexplained[0]!.type === inFlight.type) {
      unexplained.shift();
      user.changes.push(inFlight);
      outcome.committed++;
    } else if (inFlight) {
      outcome.lost++;
    }
    if (unexplained.length > 0) violations.push(`${user.id}: events beyond the acknowledged and in-flight calls: ${unexplained.map(describeChange).join(", ")}`);
    user.inFlight = undefined;

    const expected = fold(stored);
    const row = rows.find((r) => r.id === user.id);
    const actual = row && { state: row.state, locked: Boolean(row.locked), sequence: Number(row.sequence) };
    const wanted = { state: expected.locked ? "locked" : "active", locked: expected.locked, sequence: expected.sequence };
    if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
      violations.push(`${user.id}: read model ${JSON.stringify(actual)} differs from its events' ${JSON.stringify(wanted)}${inFlight ? ` (a ${describeChange(inFlight)} was in flight)` : ""}`);
    }
    // The next round starts from what the database holds.
    user.locked = expected.locked;
    user.sequence = expected.sequence;
  }
  if (options.counts !== false) await verifyCounts(server, violations);
  return outcome;
}

interface CountRow {
  key: string;
  n: number | string;
}

/** user_counts, summed over its shards, equals counting the users, per organization, state and type. */
async function verifyCounts(server: { databaseUrl: string }, violations: string[]): Promise<void> {
  const key = "org_id || '/' || state || '/' || type";
  const nonZero = (rows: CountRow[]) =>
    JSON.stringify(Object.fromEntries(rows.map((r) => [r.key, Number(r.n)]).filter(([, n]) => n !== 0).sort()));
  const [counted, kept] = await Promise.all([
    query<CountRow>(server, `select ${key} as key, count(*) as n from users group by org_id, state, type`),
    query<CountRow>(server, `select ${key} as key, sum(count) as n from user_counts group by org_id, state, type`),
  ]);
  if (nonZero(kept) !== nonZero(counted)) violations.push(`user_counts ${nonZero(kept)} differs from counting the users ${nonZero(counted)}`);
}
