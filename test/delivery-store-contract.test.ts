/**
 * The outbox as an administrator reads and retries it (store/outbox.ts): the state of each
 * destination, parked deliveries by destination and page, and retries by id or by destination,
 * with identical expectations on every backend of STORE_BACKENDS (SQLite, PGlite, and a real
 * PostgreSQL when TEST_POSTGRES_URL is set). Deliveries are written with their users' commits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyEvent, type RecordedUserEvent } from "../src/domain/events.js";
import type { Store } from "../src/store/store.js";
import { STORE_BACKENDS } from "./support/stores.js";

let counter = 0;
const uniq = (prefix: string) => `${prefix}-${String(++counter).padStart(5, "0")}`;
/** Instants with milliseconds, so that rounding shows. */
const at = (n: number) => new Date(Date.UTC(2031, 4, 6, 7, 8, 9, 123) + n * 1_001);
/** Later than every delivery's due time. */
const LATER = at(1_000);

describe.each(STORE_BACKENDS)("the outbox for an administrator on $name", (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
  });
  afterAll(() => dispose?.());

  /** A new user, committed at `at(n)` with a delivery of its first event to each destination. */
  async function userWithDeliveries(n: number, ...destinations: string[]): Promise<string> {
    const userId = uniq("u");
    const event: RecordedUserEvent = {
      type: "user.machine.added",
      payload: { orgId: "org", username: userId, machine: { name: userId, description: "" } },
      userId,
      sequence: 1,
      actor: "contract-test",
      createdAt: at(n),
    };
    const txn = uniq("txn");
    await store.commitUser({ events: [event], user: applyEvent(undefined, event), deliveries: destinations.map((destination) => ({ destination, sequence: 1, txn })) });
    return userId;
  }

  /** Leases every due delivery and settles each as `outcome` says for its user and destination. */
  async function settle(outcome: (userId: string, destination: string) => "delivered" | "parked" | "retry" | "leave", error: (userId: string) => string) {
    for (const delivery of await store.outbox.leaseDue(LATER, new Date(LATER.getTime() + 60_000), { limit: 100, perDestination: 100 })) {
      const what = outcome(delivery.event.userId, delivery.destination);
      if (what === "delivered") await store.outbox.delivered([delivery.id]);
      else if (what === "parked") await store.outbox.failed(delivery.id, { error: error(delivery.event.userId) });
      else if (what === "retry") await store.outbox.failed(delivery.id, { error: error(delivery.event.userId), dueAt: new Date(LATER.getTime() + 3_600_000) });
    }
  }

  let first: string, second: string, third: string, fourth: string;

  it("has no destination while nothing waits", async () => {
    expect(await store.outbox.destinationStates()).toEqual([]);
    expect(await store.outbox.parkedDeliveries(10)).toEqual([]);
  });

  it("counts each destination's waiting and parked deliveries, the oldest waiting one's time and the newest failure's error", async () => {
    first = await userWithDeliveries(1, "target:a", "stream:s");
    second = await userWithDeliveries(2, "target:a");
    third = await userWithDeliveries(3, "target:b");
    await settle(
      (userId, destination) => (destination === "stream:s" ? "delivered" : userId === first ? "retry" : "parked"),
      (userId) => `the target answered 500 for ${userId}`,
    );
    // Never tried: waiting, without an error.
    fourth = await userWithDeliveries(4, "stream:s");

    expect(await store.outbox.destinationStates()).toEqual([
      { destination: "stream:s", waiting: 1, parked: 0, oldestWaitingAt: at(4) },
      { destination: "target:a", waiting: 1, parked: 1, oldestWaitingAt: at(1), lastError: `the target answered 500 for ${second}` },
      { destination: "target:b", waiting: 0, parked: 1, lastError: `the target answered 500 for ${third}` },
    ]);
  });

  it("lists parked deliveries oldest first, of one destination, and a page after an id", async () => {
    const all = await store.outbox.parkedDeliveries(10);
    expect(all.map((d) => [d.destination, d.userId, d.sequence, d.attempts, d.lastError])).toEqual([
      ["target:a", second, 1, 1, `the target answered 500 for ${second}`],
      ["target:b", third, 1, 1, `the target answered 500 for ${third}`],
    ]);
    expect(all[0]!.createdAt).toEqual(at(2));
    expect(await store.outbox.parkedDeliveries(1)).toEqual([all[0]]);
    expect(await store.outbox.parkedDeliveries(10, { afterId: all[0]!.id })).toEqual([all[1]]);
    expect(await store.outbox.parkedDeliveries(10, { destination: "target:b" })).toEqual([all[1]]);
    expect(await store.outbox.parkedDeliveries(10, { destination: "target:b", afterId: all[1]!.id })).toEqual([]);
    expect(await store.outbox.parkedDeliveries(10, { destination: "stream:s" })).toEqual([]);
    expect(await store.outbox.parkedDeliveries(10, { destination: "target:nowhere" })).toEqual([]);
  });

  it("retries every parked delivery of a destination, once; its error stays on record until it is sent", async () => {
    expect(await store.outbox.retryParkedOf("target:nowhere", LATER)).toBe(0);
    expect(await store.outbox.retryParkedOf("stream:s", LATER)).toBe(0);
    expect(await store.outbox.retryParkedOf("target:a", LATER)).toBe(1);
    expect(await store.outbox.retryParkedOf("target:a", LATER)).toBe(0);
    expect(await store.outbox.parkedDeliveries(10, { destination: "target:a" })).toEqual([]);
    expect((await store.outbox.destinationStates()).find((s) => s.destination === "target:a")).toEqual({
      destination: "target:a",
      waiting: 2,
      parked: 0,
      oldestWaitingAt: at(1),
      lastError: `the target answered 500 for ${second}`,
    });
    // Due at once: the next lease takes it (and not the one backing off).
    const leased = await store.outbox.leaseDue(LATER, new Date(LATER.getTime() + 60_000), { limit: 100, perDestination: 100 });
    expect(leased.map((d) => [d.destination, d.event.userId, d.attempts])).toEqual([
      ["target:a", second, 1],
      ["stream:s", fourth, 0],
    ]);
    for (const delivery of leased) await store.outbox.delivered([delivery.id]);
  });

  it("retries parked deliveries by id, and leaves the destination once nothing of it is left", async () => {
    const [parked] = await store.outbox.parkedDeliveries(10);
    expect(parked).toMatchObject({ destination: "target:b", userId: third });
    expect(await store.outbox.retryParked([parked!.id, parked!.id + 1_000], LATER)).toBe(1);
    await settle(() => "delivered", () => "");
    expect(await store.outbox.destinationStates()).toEqual([
      { destination: "target:a", waiting: 1, parked: 0, oldestWaitingAt: at(1), lastError: `the target answered 500 for ${first}` },
    ]);
  });
});
