/**
 * The short crash drill (`npm run drill:crash` runs the long one): SIGKILL in the middle of
 * LockUser/UnlockUser load, three times, and nothing acknowledged is lost; then with two workers,
 * SIGKILL of one worker and of the whole group in turn. On SQLite, and on
 * PostgreSQL in the "postgres" project.
 */
import { describe, expect, it } from "vitest";
import { runCrashDrill } from "../drill/crash-drill.js";
import { SERVERS_ON_POSTGRES } from "./support/postgres.js";

const backend = SERVERS_ON_POSTGRES ? "postgres" : "sqlite";

describe(`crash drill on ${backend}`, () => {
  it("keeps every acknowledged change through three kills, with the read model agreeing with the events", { timeout: 60_000 }, async () => {
    const report = await runCrashDrill({ backend, kills: 3, seed: 20261123 });

    expect(report.violations).toEqual([]);
    expect(report.kills).toBe(3);
    expect(report.acknowledged, "the load did real work between the kills").toBeGreaterThanOrEqual(50);
    expect(report.inFlightCommitted + report.inFlightLost, "some calls were in flight at the kills").toBeGreaterThan(0);
    expect(report.restartMs!.max).toBeLessThan(10_000);
  });

  it("with WORKERS=2: keeps every acknowledged change through kills of one worker and of the whole group, alternating", { timeout: 90_000 }, async () => {
    const report = await runCrashDrill({ backend, kills: 4, seed: 20261205, workers: 2 });

    expect(report.violations).toEqual([]);
    expect(report.kills).toBe(4);
    expect(report.workerKills).toBe(2);
    expect(report.acknowledged, "the load did real work between the kills").toBeGreaterThanOrEqual(50);
    expect(report.inFlightCommitted + report.inFlightLost, "some calls were in flight at the kills").toBeGreaterThan(0);
  });
});
