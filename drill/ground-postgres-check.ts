/**
 * The PostgreSQL drill's verdicts, read against the event log once the load has stopped and the
 * outbox is empty: every acknowledged change is in the log; each watcher got every event after
 * its start position once; the Actions receiver got every committed lock and unlock.
 */
import type { ActionsCall } from "../test/support/actions-receiver.js";
import type { Acknowledged } from "./ground-postgres-load.js";
import type { Watched } from "./ground-postgres-watch.js";

export interface LogRow {
  userId: string;
  sequence: number;
  type: string;
}

const key = (userId: string, sequence: number) => `${userId}#${sequence}`;

export function checkAcknowledged(acknowledged: readonly Acknowledged[], log: readonly LogRow[], violations: string[]): void {
  const logged = new Map(log.map((row) => [key(row.userId, row.sequence), row.type]));
  for (const ack of acknowledged) {
    const type = logged.get(key(ack.userId, ack.sequence));
    if (type !== ack.type) violations.push(`${ack.userId}: ${ack.type} #${ack.sequence} was acknowledged but the log holds ${type ?? "nothing"} there`);
  }
}

/** The watcher's events are exactly `expected` (the log after its start), each once. */
export function checkWatched(name: string, watched: readonly Watched[], expected: readonly LogRow[], violations: string[]): void {
  const seen = new Map<string, number>();
  for (const e of watched) seen.set(key(e.userId, e.sequence), (seen.get(key(e.userId, e.sequence)) ?? 0) + 1);
  const wanted = new Set(expected.map((row) => key(row.userId, row.sequence)));
  const missing = [...wanted].filter((k) => !seen.has(k));
  const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  const extra = [...seen.keys()].filter((k) => !wanted.has(k));
  if (missing.length > 0) violations.push(`${name}: ${missing.length} events of the log never came, e.g. ${missing.slice(0, 3).join(", ")}`);
  if (twice.length > 0) violations.push(`${name}: ${twice.length} events came more than once, e.g. ${twice.slice(0, 3).join(", ")}`);
  if (extra.length > 0) violations.push(`${name}: ${extra.length} events came that the log does not hold after the start, e.g. ${extra.slice(0, 3).join(", ")}`);
}

/** Every lock and unlock of the log reached the receiver, nothing else did; returns how many came more than once. */
export function checkDelivered(received: readonly ActionsCall[], log: readonly LogRow[], violations: string[]): number {
  const wanted = new Set(log.filter((row) => row.type === "user.locked" || row.type === "user.unlocked").map((row) => key(row.userId, row.sequence)));
  const arrived = received.map((call) => key(String(call.body.aggregateID), Number(call.body.sequence)));
  const distinct = new Set(arrived);
  const missing = [...wanted].filter((k) => !distinct.has(k));
  const extra = [...distinct].filter((k) => !wanted.has(k));
  if (missing.length > 0) violations.push(`the Actions receiver never got ${missing.length} committed changes, e.g. ${missing.slice(0, 3).join(", ")}`);
  if (extra.length > 0) violations.push(`the Actions receiver got ${extra.length} changes the log does not hold, e.g. ${extra.slice(0, 3).join(", ")}`);
  if (received.some((call) => !call.signatureValid)) violations.push("the Actions receiver got a request whose signature does not match");
  return arrived.length - distinct.size;
}

/** The longest wait from an acknowledgement to the first arrival of its change (at a receiver, at a watcher). */
export function longestLag(acknowledged: readonly Acknowledged[], arrivals: readonly Watched[]): number {
  const arrived = new Map<string, number>();
  for (const { userId, sequence, at } of arrivals) if (!arrived.has(key(userId, sequence))) arrived.set(key(userId, sequence), at);
  return Math.max(0, ...acknowledged.map((ack) => (arrived.get(key(ack.userId, ack.sequence)) ?? ack.at) - ack.at));
}

/** What the Actions receiver took, as arrivals of changes. */
export function actionsArrivals(received: readonly ActionsCall[]): Watched[] {
  return received.map((call) => ({ userId: String(call.body.aggregateID), sequence: Number(call.body.sequence), at: call.at }));
}
