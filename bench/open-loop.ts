/**
 * The fixed-rate (open-loop) schedule both load generators use for the latency scenario:
 * call k is sent at start + k/rate seconds, whatever the earlier calls' answers, so a slow
 * answer cannot hold back the calls behind it (a closed loop would hide that queueing).
 * Also how busy a generator kept its own core, which both report.
 */

import { monitorEventLoopDelay } from "node:perf_hooks";

/** The event-loop monitor's timer; it records the time between ticks, so this is subtracted. */
const LOOP_TIMER_MS = 1;

/**
 * Sends `rate × durationS` calls on schedule; resolves when every one has answered. Also
 * reports this process's own event-loop delay: an answer that arrives while the generator is
 * busy (its own GC, say) is timed late by up to that much.
 */
export async function atFixedRate(
  rate: number,
  durationS: number,
  send: (k: number) => Promise<unknown>,
): Promise<{ elapsedS: number; lateMsMax: number; loopDelayP99Ms: number }> {
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_TIMER_MS });
  loopDelay.enable();
  const start = performance.now();
  const total = Math.floor(rate * durationS);
  const inFlight = new Set<Promise<unknown>>();
  let lateMsMax = 0;
  for (let k = 0; k < total; ) {
    const due = start + (k * 1000) / rate;
    const now = performance.now();
    if (due > now) {
      await new Promise((r) => setTimeout(r, Math.max(0, due - now - 0.2)));
      continue;
    }
    lateMsMax = Math.max(lateMsMax, now - due);
    // send everything that is due (a timer tick can cover several calls)
    while (k < total && start + (k * 1000) / rate <= performance.now()) {
      const p = send(k);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      k++;
    }
  }
  await Promise.all(inFlight);
  loopDelay.disable();
  return { elapsedS: (performance.now() - start) / 1000, lateMsMax, loopDelayP99Ms: loopDelay.percentile(99) / 1e6 - LOOP_TIMER_MS };
}

/**
 * Call k of a fixed-rate lock/unlock run over `users` users: windows of W users are locked in
 * order, then unlocked in order, so a user's unlock is sent W/rate seconds after its lock.
 */
export function lockUnlockAt(k: number, users: number): { unlock: boolean; user: number } {
  const W = Math.max(1, Math.min(Math.floor(users / 2), 512));
  const window = Math.floor(k / (2 * W));
  const within = k % (2 * W);
  return { unlock: within >= W, user: (window * W + (within % W)) % users };
}

/** The cores this process kept busy since `since` (a process.cpuUsage() reading), over `elapsedS`. */
export function cpuCores(since: NodeJS.CpuUsage, elapsedS: number): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6 / elapsedS;
}
