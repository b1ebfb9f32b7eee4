/**
 * PostgreSQL goes away under load and comes back (issue 25), in short: two real servers on a
 * database of this test's own, locks and unlocks running through one, a watcher on each from a
 * position, an Actions v2 target on a real receiver; then this database's backends are terminated again and
 * again for 3 s (only this database's: other test files use the same cluster meanwhile).
 * drill/ground-postgres.ts runs it and judges it; `npm run drill:ground` restarts the cluster
 * itself. Runs only with TEST_POSTGRES_URL set (CI sets it).
 */
import { describe, expect, it } from "vitest";
import { RECOVERY_LIMIT_MS } from "../drill/ground-postgres-figures.js";
import { runPostgresRestart } from "../drill/ground-postgres.js";
import { POSTGRES_URL } from "./support/postgres.js";

describe.skipIf(!POSTGRES_URL)(`PostgreSQL goes away under load (its backends terminated for 3 s)${POSTGRES_URL ? "" : ": skipped, TEST_POSTGRES_URL is not set"}`, () => {
  it("calls answer Unavailable, nothing acknowledged is lost, watchers and deliveries recover by themselves", { timeout: 30_000 }, async () => {
    const report = await runPostgresRestart({ url: POSTGRES_URL, outage: "terminate", seconds: 3, instances: 2, users: 4 });
    expect(report.violations).toEqual([]);
    // The outage was real: calls were refused in it, and the load did work on both sides of it.
    expect(report.downMs).toBeGreaterThanOrEqual(3_000);
    expect(report.gap.unavailable).toBeGreaterThan(0);
    expect(report.gap.readyz503).toBeGreaterThan(0);
    expect(report.acknowledged).toBeGreaterThan(10);
    expect(report.watch.events).toBeGreaterThan(0);
    // A watcher checks its caller's token at each heartbeat (every 500 ms here): in 3 s some check found the database away and ended its stream with a position, which the watcher resumed from.
    expect(report.watch.resumed).toBeGreaterThan(0);
    expect(report.deliveries.received).toBeGreaterThan(0);
    const { readyMs, firstWriteMs, firstWatchEventMs, firstDeliveryMs, watchLagMs } = report.recovery;
    for (const ms of [readyMs, firstWriteMs, firstWatchEventMs, firstDeliveryMs, watchLagMs]) expect(ms).toBeLessThanOrEqual(RECOVERY_LIMIT_MS);
  });
});
