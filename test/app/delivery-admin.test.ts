/**
 * The outbox for an administrator at app level (app/delivery-admin.ts), on SQLite: each
 * destination named with what it is (a target's name, a stream's receiver, delivery method and
 * poll queue), or not at all when it is gone or of no kind this server sends to; a poll stream
 * whose SETs have all left the outbox for its queue; retries by id and by destination; and
 * delivery.read and delivery.retry, which only an IAM_OWNER holds.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DeliveryAdmin } from "../../src/app/delivery-admin.js";
import { DomainError } from "../../src/domain/errors.js";
import { applyEvent, type RecordedUserEvent } from "../../src/domain/events.js";
import type { Principal } from "../../src/domain/permissions.js";
import { Secret } from "../../src/domain/secret.js";
import { POLL } from "../../src/domain/ssf/event-types.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";

const ADMIN: Principal = { userId: "300000000000000001", orgId: "100000000000000001", grants: [{ role: "IAM_OWNER", orgId: null }] };
const OTHERS: Principal[] = [
  { userId: "300000000000000002", orgId: "100000000000000001", grants: [{ role: "ORG_OWNER", orgId: "100000000000000001" }] },
  { userId: "300000000000000003", orgId: "100000000000000001", grants: [{ role: "SSF_READER", orgId: null }] },
];
const AT = new Date(Date.UTC(2030, 0, 1));
const NOW = new Date(Date.UTC(2030, 0, 2));

let store: Store;
let admin: DeliveryAdmin;
beforeAll(async () => {
  store = openSqliteStore(join(mkdtempSync(join(tmpdir(), "zus-delivery-admin-")), "db"));
  admin = new DeliveryAdmin(store.outbox, store.actions, store.ssf, () => NOW);
  await store.actions.addTarget({
    id: "700000000000000001",
    name: "audit-hook",
    type: "rest_async",
    interruptOnError: false,
    endpoint: "https://hooks.example.com/audit",
    timeoutMs: 5_000,
    payloadType: "json",
    signingKey: new Secret("key"),
    createdAt: AT,
    changedAt: AT,
  });
  for (const [id, receiverId] of [["800000000000000001", "300000000000000009"], ["800000000000000002", "300000000000000008"]] as const) {
    await store.ssf.insertStream({
      id,
      receiverId,
      aud: receiverId,
      delivery: { method: POLL },
      eventsDelivered: [],
      format: "iss_sub",
      defaultSubjects: "ALL",
      status: "enabled",
      createdAt: AT,
      updatedAt: AT,
    });
  }
  // The first stream has two SETs its receiver has yet to poll; the second one it refused, and nothing in the outbox.
  const set = (jti: string) => ({ jti, kid: "kid", set: `set-${jti}` });
  await store.ssf.queueSets("800000000000000001", [set("a"), set("b")], AT);
  await store.ssf.queueSets("800000000000000002", [set("c")], AT);
  await store.ssf.refuseSets("800000000000000002", new Map([["c", "invalid_key"]]));
  // One user's first event to every destination: a target, a stream, a target deleted since, a kind of none.
  const event: RecordedUserEvent = {
    type: "user.machine.added",
    payload: { orgId: "100000000000000001", username: "bot", machine: { name: "bot", description: "" } },
    userId: "200000000000000001",
    sequence: 1,
    actor: "test",
    createdAt: AT,
  };
  const destinations = ["target:700000000000000001", "stream:800000000000000001", "target:700000000000000002", "queue:1"];
  await store.commitUser({ events: [event], user: applyEvent(undefined, event), deliveries: destinations.map((destination) => ({ destination, sequence: 1, txn: "txn" })) });
});
afterAll(() => store?.close());

it("names each destination with what it is, while it is, and lists a poll stream for its queue alone", async () => {
  const views = await admin.destinations(ADMIN);
  const stream = (id: string, receiverId: string, queued: number, refused: number) => ({ kind: "stream", id, receiverId, deliveryMethod: POLL, queued, refused });
  expect(views.map(({ destination, receiver, waiting }) => ({ destination, receiver, waiting }))).toEqual([
    { destination: "queue:1", receiver: undefined, waiting: 1 },
    { destination: "stream:800000000000000001", receiver: stream("800000000000000001", "300000000000000009", 2, 0), waiting: 1 },
    { destination: "stream:800000000000000002", receiver: stream("800000000000000002", "300000000000000008", 0, 1), waiting: 0 },
    { destination: "target:700000000000000001", receiver: { kind: "target", id: "700000000000000001", name: "audit-hook" }, waiting: 1 },
    { destination: "target:700000000000000002", receiver: undefined, waiting: 1 },
  ]);
});

it("retries parked deliveries by id or every one of a destination, making them due now", async () => {
  for (const delivery of await store.outbox.leaseDue(NOW, new Date(NOW.getTime() + 1000), { limit: 10, perDestination: 10 })) {
    await store.outbox.failed(delivery.id, { error: "refused" });
  }
  const parked = await admin.parked(ADMIN, 10, {});
  expect(parked).toHaveLength(4);
  expect(await admin.retry(ADMIN, { ids: [parked[0]!.id, parked[1]!.id] })).toBe(2);
  expect(await admin.retry(ADMIN, { destination: "queue:1" })).toBe(1);
  expect((await admin.parked(ADMIN, 10, {})).map((d) => d.destination)).toEqual(["target:700000000000000002"]);
  const due = await store.outbox.leaseDue(NOW, new Date(NOW.getTime() + 1000), { limit: 10, perDestination: 10 });
  expect(due.map((d) => d.destination).sort()).toEqual(["queue:1", "stream:800000000000000001", "target:700000000000000001"]);
});

it("lets none but an IAM_OWNER read or retry", async () => {
  for (const caller of OTHERS) {
    for (const call of [admin.destinations(caller), admin.parked(caller, 10, {}), admin.retry(caller, { destination: "queue:1" })]) {
      await expect(call).rejects.toThrow(DomainError);
      await expect(call).rejects.toMatchObject({ kind: "PermissionDenied" });
    }
  }
});
