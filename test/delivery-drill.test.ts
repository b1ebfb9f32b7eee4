/**
 * The short delivery drill (`npm run drill:delivery` runs the long one): locks and unlocks with
 * an SSF push stream, an SSF poll stream and an Actions v2 target attached, the push receiver
 * down for the first half, SIGKILL in the middle; afterwards every committed event reached every
 * receiver, nothing else did, in each user's order, repeats only with the same id and only where a
 * kill explains them. On SQLite, and with TEST_POSTGRES_URL on two PostgreSQL instances.
 */
import { describe, expect, it } from "vitest";
import { runDeliveryDrill, type DeliveryDrillReport } from "../drill/delivery-drill.js";
import { POSTGRES_URL } from "./support/postgres.js";

function expectDelivered(report: DeliveryDrillReport): void {
  expect(report.violations).toEqual([]);
  expect(report.committed, "the load did real work").toBeGreaterThanOrEqual(200);
  expect(report.pushDown.refused, "the push receiver was down for a while").toBeGreaterThan(0);
  const { locked, unlocked } = report.events;
  // Every signal of every committed event arrived once at least: two SETs per lock, one per unlock.
  expect(report.receivers.push.distinct).toBe(2 * locked + unlocked);
  expect(report.receivers.poll.distinct).toBe(2 * locked + unlocked);
  expect(report.receivers.actions.distinct).toBe(locked + unlocked);
  for (const figures of Object.values(report.receivers)) expect(figures.repeatsAfterKill).toBe(figures.repeats);
}

describe("delivery drill", () => {
  it("on SQLite: three kills, 200 operations", { timeout: 120_000 }, async () => {
    const report = await runDeliveryDrill({ backend: "sqlite", kills: 3, operations: 200, seed: 20261205 });
    expectDelivered(report);
    expect(report.kills).toBe(3);
  });

  it.runIf(POSTGRES_URL)("on two PostgreSQL instances: one killed", { timeout: 120_000 }, async () => {
    const report = await runDeliveryDrill({ backend: "postgres", kills: 1, operations: 200, seed: 20261205 });
    expectDelivered(report);
    expect(report.instances).toBe(2);
    expect(report.kills).toBe(1);
  });
});
