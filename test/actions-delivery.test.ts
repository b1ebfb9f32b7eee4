/**
 * Actions v2 delivery end to end (EXTENSIONS.md §2–§3): a target and an execution made over
 * REST, then a lock and an unlock made over gRPC reach a real HTTP receiver on 127.0.0.1, signed
 * as ZITADEL signs them, in order; the execution's other events do not; a receiver down at first
 * gets the events once it is back; a target changed here gets the next event at its new endpoint.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ActionsReceiver, adminRest, attachTarget } from "./support/actions-receiver.js";
import { userClient } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";
import { sleep, until } from "./support/wait.js";

let server: TestServer;
let receiver: ActionsReceiver;

beforeAll(async () => {
  receiver = await new ActionsReceiver().start();
  // Down at first: what it is sent then is refused and retried.
  receiver.status = 503;
  server = await startServer({ env: { OUTBOUND_URL_ALLOW: "http://127.0.0.1" } });
});
afterAll(async () => {
  await server?.stop();
  await receiver?.stop();
});

it("sends the events an execution names to its target, signed, in order, and again once a receiver that was down is back", async () => {
  await attachTarget(server, receiver, "lock-hook", ["user.locked", "user.unlocked"]);
  // Executions reach the routes within a second (delivery-routes.ts).
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const users = userClient("grpc", server.baseUrl, server.adminToken);
  const userId = await addHuman(users);
  await users.lockUser({ userId });
  await users.unlockUser({ userId });
  await users.deactivateUser({ userId });
  // Down for the first attempts: the deliveries wait and are retried.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(receiver.received).toEqual([]);
  receiver.status = 200;
  const deadline = Date.now() + 15_000;
  while (receiver.received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 300));

  expect(receiver.received.map((r) => [r.body.event_type, r.body.sequence, r.body.aggregateID, r.signatureValid])).toEqual([
    ["user.locked", 2, userId, true],
    ["user.unlocked", 3, userId, true],
  ]);
  expect(receiver.received[0]!.body).toMatchObject({ aggregateType: "user", instanceID: "zitadel-user-state", version: "v2" });
  expect(server.output()).not.toContain(receiver.signingKey);
});

it("sends to a target's new endpoint from the moment the target is changed here", async () => {
  const before = await new ActionsReceiver().start();
  const after = await new ActionsReceiver().start();
  try {
    const targetId = await attachTarget(server, before, "moving-hook", ["user.deactivated", "user.reactivated"]);
    await sleep(1_500);
    const users = userClient("grpc", server.baseUrl, server.adminToken);
    const userId = await addHuman(users);
    await users.deactivateUser({ userId });
    // Sent: the target's sender is made and kept (app/sender-cache.ts).
    await until(() => before.received.length === 1);

    await adminRest(server, "POST", `/v2/actions/targets/${targetId}`, { endpoint: after.url });
    after.signingKey = before.signingKey;
    await users.reactivateUser({ userId });
    await until(() => after.received.length === 1);
    expect(after.received.map((r) => [r.body.event_type, r.signatureValid])).toEqual([["user.reactivated", true]]);
    // Not within the refresh that would also have made it anew: at once.
    expect(before.received.map((r) => r.body.event_type)).toEqual(["user.deactivated"]);
  } finally {
    await before.stop();
    await after.stop();
  }
});
