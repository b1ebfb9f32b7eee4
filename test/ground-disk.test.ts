/**
 * The short disk-full drill (`npm run drill:ground` runs the long one): a tmpfs fills under the
 * SQLite server during LockUser/UnlockUser load, and is freed again. Skipped, saying why, where
 * a tmpfs cannot be mounted (not root).
 */
import { describe, expect, it } from "vitest";
import { runDiskFull } from "../drill/ground-disk.js";
import { runStartOnFullDisk } from "../drill/ground-start.js";

describe("a full disk under SQLite", () => {
  it("refuses writes as Unavailable, keeps reads, says so once and in /readyz, loses nothing, and resumes without a restart, deliveries too", { timeout: 60_000 }, async (ctx) => {
    const report = await runDiskFull({ users: 10, fullMs: 1500, loadMs: 500 });
    if (report.skipped) return ctx.skip(report.skipped);

    expect(report.violations).toEqual([]);
    expect(report.refused, "writes were refused while the disk was full").toBeGreaterThan(0);
    expect(report.acknowledged, "the load did real work before and after").toBeGreaterThan(20);
    expect(report.readsServed).toBe(report.readsMade);
    expect(report.readsMade).toBeGreaterThan(5);
    expect(report.readyz).toBe("503 not ready: The database's disk is full; writes are refused until space is freed");
    // Once per spell in each process that met it: the one server, or the workers of a cluster (WORKERS=2 npm test).
    const said = Object.values(report.spellLines);
    expect(said.length).toBeGreaterThan(0);
    expect(said.length).toBeLessThanOrEqual(Number(process.env.WORKERS ?? 1));
    expect(said, "the log says it once per spell, and once that writes resume").toEqual(said.map(() => ({ full: 1, resumed: 1 })));
    expect(report.resumeMs).toBeLessThan(2000);
    expect(report.integrity).toBe("ok");
    // Every committed lock and unlock reached the receiver (a violation otherwise), and none twice:
    // a delivery whose outbox delete the full disk refused is settled once space returns, not re-sent.
    expect(report.deliveries.received).toBeGreaterThan(20);
    expect(report.deliveries.repeats).toBe(0);
  });
});

describe("a start on a full disk", () => {
  it("fails with one line on stderr saying so, a non-zero exit and no stack trace, fresh or with data, one process or a cluster", { timeout: 60_000 }, async (ctx) => {
    const report = await runStartOnFullDisk();
    if (report.skipped) return ctx.skip(report.skipped);

    for (const start of [report.fresh!, report.existing!, report.cluster!]) {
      expect(start.code, start.stderr).toBe(1);
      const lines = start.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: "fatal", msg: "failed to start", error: "the disk is full: free space, then start again" });
    }
  });
});
