/**
 * The delivery drill's verdict on one receiver, against the event log read after the run and the
 * kills the drill made (issue 22, "Durability drills"):
 *
 * - every committed event's signals arrived (each user.locked as account-disabled then
 *   session-revoked, each user.unlocked as account-enabled; one Actions payload per event);
 * - nothing arrived for an event that is not in the log, or a signal its event does not cause;
 * - a signal that arrived more than once came with the same id every time (SET jti; Actions:
 *   aggregateID and sequence), and no id names two signals;
 * - each user's signals arrived in commit order, counting each signal's first arrival;
 * - every repeat is explained by a kill: the kill came after the earlier copy was sent and before
 *   the repeat arrived, and the earlier copy arrived within `window` of the kill. Before it: at
 *   most the sender's lease (delivery-drill.ts), since a sender that outlived its lease after the
 *   copy arrived was not stopped by the kill. After it: a pushed copy (SSF push, Actions) only
 *   while its request was in flight as the kill happened; a polled SET, queued when its delivery
 *   was sent, may be taken until the delivery is sent again: after the restart, or on PostgreSQL
 *   once the killed instance's lease ran out. Where an arrival names its sender (the Actions
 *   payload's instanceID), the earlier copy must come from the instance that was killed: the
 *   other instance never sends what one still holds.
 */
import type { Arrival } from "./delivery-arrivals.js";

export interface LoggedEvent {
  userId: string;
  sequence: number;
  type: string;
}

export interface Kill {
  at: number;
  /** The killed instance's INSTANCE_ID. */
  instance: string;
}

export interface ReceiverCheck {
  name: string;
  arrivals: readonly Arrival[];
  /** The signals one event of this type causes at this receiver, in the order they are sent. */
  signalsOf(type: string): readonly string[];
  /** How far from a kill the earlier copy of a repeat may have arrived: before it, and after it. */
  window: { beforeKillMs: number; afterKillMs: number };
}

export interface ReceiverFigures {
  arrivals: number;
  /** Distinct signals that arrived. */
  distinct: number;
  /** Arrivals beyond the first of their signal. */
  repeats: number;
  /** Of those, the ones a kill explains. */
  repeatsAfterKill: number;
}

const identity = (a: Pick<Arrival, "userId" | "sequence" | "signal">) => `${a.userId}:${a.sequence}:${a.signal}`;

export function checkReceiver(check: ReceiverCheck, events: readonly LoggedEvent[], kills: readonly Kill[], violations: string[]): ReceiverFigures {
  const fail = (text: string) => violations.push(`${check.name}: ${text}`);
  const typeOf = new Map(events.map((e) => [`${e.userId}:${e.sequence}`, e.type]));
  /** The copies of each signal, in arrival order. */
  const copies = new Map<string, Arrival[]>();
  const signalOfKey = new Map<string, string>();
  /** Commit order of the signals that arrived: sequence, then the signal's place among its event's. */
  const rankOf = new Map<string, number>();

  for (const arrival of check.arrivals) {
    const type = typeOf.get(`${arrival.userId}:${arrival.sequence}`);
    if (!type || !check.signalsOf(type).includes(arrival.signal)) {
      fail(`${arrival.signal} arrived for ${arrival.userId}#${arrival.sequence}, which committed ${type ?? "nothing"}`);
      continue;
    }
    const id = identity(arrival);
    rankOf.set(id, arrival.sequence * 10 + check.signalsOf(type).indexOf(arrival.signal));
    const earlier = copies.get(id) ?? [];
    if (earlier.length > 0 && earlier[0]!.key !== arrival.key) fail(`${id} came with id ${earlier[0]!.key}, then with id ${arrival.key}`);
    copies.set(id, [...earlier, arrival]);
    const named = signalOfKey.get(arrival.key);
    if (named !== undefined && named !== id) fail(`id ${arrival.key} came with ${named} and with ${id}`);
    signalOfKey.set(arrival.key, id);
  }

  for (const event of events) {
    for (const signal of check.signalsOf(event.type)) {
      if (!copies.has(identity({ ...event, signal }))) fail(`${signal} of ${event.userId}#${event.sequence} (${event.type}) never arrived`);
    }
  }
  checkOrder(check.arrivals, rankOf, fail);
  const repeatsAfterKill = checkRepeats(check, copies, kills, fail);
  return { arrivals: check.arrivals.length, distinct: copies.size, repeats: check.arrivals.length - copies.size, repeatsAfterKill };
}

/** Each user's first arrivals go up in commit order: by sequence, then by the signal's place among its event's. */
function checkOrder(arrivals: readonly Arrival[], rankOf: Map<string, number>, fail: (text: string) => void): void {
  const seen = new Set<string>();
  const last = new Map<string, Arrival>();
  for (const arrival of arrivals) {
    const id = identity(arrival);
    const rank = rankOf.get(id);
    if (rank === undefined || seen.has(id)) continue;
    seen.add(id);
    const before = last.get(arrival.userId);
    if (before && rankOf.get(identity(before))! >= rank) {
      fail(`${arrival.userId}: ${arrival.signal} #${arrival.sequence} first arrived after ${before.signal} #${before.sequence}`);
    }
    last.set(arrival.userId, arrival);
  }
}

/** Every copy after the first needs a kill between it and the copy before; returns how many had one. */
function checkRepeats(check: ReceiverCheck, copies: Map<string, Arrival[]>, kills: readonly Kill[], fail: (text: string) => void): number {
  const { beforeKillMs, afterKillMs } = check.window;
  let explained = 0;
  for (const [id, all] of copies) {
    for (let i = 1; i < all.length; i++) {
      const earlier = all[i - 1]!;
      const repeat = all[i]!;
      const kill = kills.find(
        (k) =>
          earlier.at >= k.at - beforeKillMs &&
          earlier.at <= k.at + afterKillMs &&
          repeat.at > k.at &&
          (earlier.sender === undefined || earlier.sender === k.instance),
      );
      if (kill) explained++;
      else fail(`${id} arrived again ${repeat.at - earlier.at} ms after its earlier copy${earlier.sender ? ` (sent by ${earlier.sender})` : ""} with no kill to explain it`);
    }
  }
  return explained;
}
