/**
 * The outbox as an administrator reads and retries it (store/outbox.ts): the state of each
 * destination, parked deliveries by destination and page, and retries by id or by destination,
 * with identical expectations on every backend of STORE_BACKENDS (SQLite, PGlite, and a real
 * PostgreSQL when TEST_POSTGRES_URL is set). Deliveries are written with their users' commits.
 * First, how much one lease takes (LeaseRoom): each destination's oldest waiting deliveries,
 * only the first of each user, never more than the destination's room nor the lease's limit;
 * deliveries settled together deleted in one write, the others given again with their ids.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyEvent, type RecordedUserEvent } from "../src/domain/events.js";
import type { LeasedDelivery } from "../src/store/outbox.js";
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

  /**
   * A new user, committed at `at(n)` with a delivery of each of its first `events` events (its
   * addition, then a lock) to each destination.
   */
  async function userWithDeliveries(n: number, destinations: string[], events = 1): Promise<string> {
    const userId = uniq("u");
    const added: RecordedUserEvent = {
      type: "user.machine.added",
      payload: { orgId: "org", username: userId, machine: { name: userId, description: "" } },
      userId,
      sequence: 1,
      actor: "contract-test",
      createdAt: at(n),
    };
    const locked: RecordedUserEvent = { type: "user.locked", userId, sequence: 2, actor: "contract-test", createdAt: at(n) };
    const all = [added, locked].slice(0, events);
    const txn = uniq("txn");
    await store.commitUser({
      events: all,
      user: applyEvent(all.length > 1 ? applyEvent(undefined, added) : undefined, all.at(-1)!),
      deliveries: all.flatMap(({ sequence }) => destinations.map((destination) => ({ destination, sequence, txn }))),
    });
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

  /** Now and a lease of a minute from it. */
  const leaseAt = (now: Date) => [now, new Date(now.getTime() + 60_000)] as const;
  const shown = (leased: LeasedDelivery[]) => leased.map((d) => [d.destination, d.event.userId, d.event.sequence]);
  let a1: string, a2: string, a3: string, a4: string, b1: string, b2: string, c1: string;
  let firstLease: LeasedDelivery[];

  it("takes each destination's oldest first deliveries of their users, at most its room", async () => {
    a1 = await userWithDeliveries(10, ["target:a"], 2);
    a2 = await userWithDeliveries(10, ["target:a"]);
    a3 = await userWithDeliveries(10, ["target:a"]);
    a4 = await userWithDeliveries(10, ["target:a"]);
    b1 = await userWithDeliveries(10, ["target:b"]);
    b2 = await userWithDeliveries(10, ["target:b"]);
    c1 = await userWithDeliveries(10, ["stream:c"]);

    firstLease = await store.outbox.leaseDue(...leaseAt(LATER), { limit: 100, perDestination: 2, rooms: new Map([["stream:c", 0]]) });
    expect(shown(firstLease)).toEqual([
      ["target:a", a1, 1],
      ["target:a", a2, 1],
      ["target:b", b1, 1],
      ["target:b", b2, 1],
    ]);
    // a1's second delivery waits for its first; b has no room left.
    const refill = await store.outbox.leaseDue(...leaseAt(LATER), { limit: 100, perDestination: 2, rooms: new Map([["target:a", 1], ["target:b", 0], ["stream:c", 0]]) });
    expect(shown(refill)).toEqual([["target:a", a3, 1]]);
  });

  it("takes no more than the lease's limit, oldest first over every destination", async () => {
    const oldest = await store.outbox.leaseDue(...leaseAt(LATER), { limit: 1, perDestination: 10 });
    expect(shown(oldest)).toEqual([["target:a", a4, 1]]);
  });

  it("deletes exactly the deliveries settled together, and gives the rest again, with their ids, once their leases run out", async () => {
    const [a1First, a2First, b1First, b2First] = firstLease;
    await store.outbox.delivered([a1First!.id, b1First!.id, a2First!.id]);
    await store.outbox.delivered([]);
    expect((await store.outbox.destinationStates()).map((s) => [s.destination, s.waiting])).toEqual([
      ["stream:c", 1],
      ["target:a", 3],
      ["target:b", 1],
    ]);

    const again = await store.outbox.leaseDue(...leaseAt(new Date(LATER.getTime() + 61_000)), { limit: 100, perDestination: 10 });
    expect(shown(again)).toEqual([
      ["target:a", a1, 2],
      ["target:a", a3, 1],
      ["target:a", a4, 1],
      ["target:b", b2, 1],
      ["stream:c", c1, 1],
    ]);
    expect(again.find((d) => d.event.userId === b2)!.id).toBe(b2First!.id);
    await store.outbox.delivered(again.map((d) => d.id));
    expect(await store.outbox.destinationStates()).toEqual([]);
  });
  it("counts each destination's waiting and parked deliveries, the oldest waiting one's time and the newest failure's error", async () => {
    first = await userWithDeliveries(1, ["target:a", "stream:s"]);
    second = await userWithDeliveries(2, ["target:a"]);
    third = await userWithDeliveries(3, ["target:b"]);
    await settle(
      (userId, destination) => (destination === "stream:s" ? "delivered" : userId === first ? "retry" : "parked"),
      (userId) => `the target answered 500 for ${userId}`,
    );
    // Never tried: waiting, without an error.
    fourth = await userWithDeliveries(4, ["stream:s"]);

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
