/**
 * The PostgreSQL drill's figures, from what its clients saw and when: the answers in the gap, and
 * from the database's return to `/readyz` 200 for good, to the first acknowledged write, watch
 * event and delivery, and the longest a change written after it waited for its watchers and its
 * receiver. Each recovery past RECOVERY_LIMIT_MS (or never) is a violation, and so is a gap
 * without a 503.
 */
import { longestLag } from "./ground-postgres-check.js";
import type { Acknowledged, LoadFigures } from "./ground-postgres-load.js";
import type { Outage } from "./ground-postgres-outage.js";
import type { Probed } from "./ground-postgres-probes.js";
import type { Watched } from "./ground-postgres-watch.js";

/** What "within seconds of PostgreSQL's return" means here. */
export const RECOVERY_LIMIT_MS = 5_000;

export interface GapFigures {
  /** Calls answered Unavailable, and the probes' answers while the database was away. */
  unavailable: number;
  readyz503: number;
  readyz200: number;
  rest503: number;
}

export interface RecoveryFigures {
  readyMs?: number;
  firstWriteMs?: number;
  firstWatchEventMs?: number;
  firstDeliveryMs?: number;
  /** The last call answered Unavailable, after the return (0: none after it). */
  lastUnavailableMs: number;
  /** From the acknowledgement of a change written after the return to its arrival, the longest: at any watcher, at the receiver. */
  watchLagMs: number;
  deliveryLagMs: number;
}

export interface Seen {
  outage: Outage;
  acknowledged: readonly Acknowledged[];
  load: LoadFigures;
  probed: readonly Probed[];
  /** Each watcher's events. */
  watched: readonly (readonly Watched[])[];
  delivered: readonly Watched[];
}

export function figures({ outage, acknowledged, load, probed, watched, delivered }: Seen, violations: string[]): { gap: GapFigures; recovery: RecoveryFigures } {
  const { wentAt, backAt } = outage;
  const inGap = probed.filter((p) => p.at >= wentAt && p.at <= backAt);
  const gap = {
    unavailable: load.unavailable.count,
    readyz503: inGap.filter((p) => p.ready === 503).length,
    readyz200: inGap.filter((p) => p.ready === 200).length,
    rest503: inGap.filter((p) => p.rest === 503).length,
  };
  if (gap.readyz503 === 0) violations.push("/readyz never answered 503 while the database was away");

  const firstAfter = (times: number[]) => {
    const later = times.filter((at) => at > backAt);
    return later.length > 0 ? Math.min(...later) - backAt : undefined;
  };
  const lastNotReady = Math.max(backAt, ...probed.filter((p) => p.ready !== 200).map((p) => p.at));
  const firsts = {
    readyMs: firstAfter(probed.filter((p) => p.at > lastNotReady).map((p) => p.at)),
    firstWriteMs: firstAfter(acknowledged.map((a) => a.at)),
    firstWatchEventMs: firstAfter(watched.flat().map((e) => e.at)),
    firstDeliveryMs: firstAfter(delivered.map((e) => e.at)),
  };
  const written = acknowledged.filter((a) => a.at > backAt);
  const lastUnavailableMs = Math.max(0, (load.unavailable.last ?? 0) - backAt);
  const watchLagMs = Math.max(0, ...watched.map((events) => longestLag(written, events)));
  // Not the deliveries' lag: one user's go one at a time from a courier of low CPU priority, so on
  // a busy machine they trail the calls by seconds with or without an outage (dispatcher.ts).
  const deliveryLagMs = longestLag(written, delivered);
  for (const [what, ms] of Object.entries({ ...firsts, lastUnavailableMs, watchLagMs })) {
    if (ms === undefined || ms > RECOVERY_LIMIT_MS) violations.push(`${what}: ${ms ?? "never"} (limit ${RECOVERY_LIMIT_MS} ms)`);
  }
  return { gap, recovery: { ...firsts, lastUnavailableMs, watchLagMs, deliveryLagMs } };
}
