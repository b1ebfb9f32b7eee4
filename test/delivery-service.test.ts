/**
 * zus.delivery.v1.DeliveryService (EXTENSIONS.md §2: parked deliveries visible and retryable by an
 * administrator) against a real server: an Actions v2 target whose receiver on 127.0.0.1 answers
 * 500 gets its deliveries parked; they are listed per destination and one by one over Connect,
 * gRPC and REST, retried by id and by destination once the receiver answers 200, and delivered.
 * Only an IAM_OWNER may read or retry; bad input is InvalidArgument naming what is wrong.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryService } from "../gen/zus/delivery/v1/delivery_service_pb.js";
import { transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman, addMachine, addOrg, expectCode } from "./support/fixtures.js";
import { ActionsReceiver } from "./support/actions-receiver.js";
import { acceptedLocks, PARKING_ENV, refusingLockTarget, untilParked } from "./support/parking.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
const receiver = new ActionsReceiver();
let target: { id: string; name: string };
let destination: string;

beforeAll(async () => {
  await receiver.start();
  server = await startServer({ env: PARKING_ENV });
  target = await refusingLockTarget(server, receiver, "parking-hook");
  destination = `target:${target.id}`;
});
afterAll(async () => {
  await server?.stop();
  await receiver.stop();
});

const deliveries = (protocol: Protocol, token = server.adminToken): Client<typeof DeliveryService> =>
  createClient(DeliveryService, transport(protocol, server.baseUrl, token));

async function rest(method: string, path: string, body?: unknown, token = server.adminToken): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Locks new users, one at a time (their deliveries are written in that order). */
async function lockedUsers(count: number): Promise<string[]> {
  const users = userClient("grpc", server.baseUrl, server.adminToken);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const userId = await addHuman(users);
    await users.lockUser({ userId });
    ids.push(userId);
  }
  return ids;
}


describe("parked deliveries", () => {
  it("are counted per destination, listed a page at a time, retried by id and by destination, and then delivered", async () => {
    const started = Date.now();
    const userIds = await lockedUsers(3);
    await untilParked(server, destination, 3);

    const { destinations } = await deliveries("connect-json").listDestinations({});
    expect(destinations).toHaveLength(1);
    expect(destinations[0]).toMatchObject({
      destination,
      receiver: { case: "target", value: { id: target.id, name: "parking-hook" } },
      waiting: 0n,
      parked: 3n,
      lastError: "the target answered 500",
    });
    expect(destinations[0]!.oldestWaitingDate).toBeUndefined();
    // REST: grpc-gateway's JSON of the same answer, where zero counts are left out.
    expect(await rest("GET", "/zus/v1/deliveries/destinations")).toEqual({
      status: 200,
      json: { destinations: [{ destination, target: { id: target.id, name: "parking-hook" }, parked: "3", lastError: "the target answered 500" }] },
    });

    const grpc = deliveries("grpc");
    const firstPage = await grpc.listParkedDeliveries({ destination, pageSize: 2 });
    expect(firstPage.deliveries.map((d) => [d.destination, d.userId, d.sequence, d.attempts, d.lastError])).toEqual(
      userIds.slice(0, 2).map((userId) => [destination, userId, 2n, 1, "the target answered 500"]),
    );
    for (const delivery of firstPage.deliveries) expect(timestampDate(delivery.creationDate!).getTime()).toBeGreaterThanOrEqual(started - 1000);
    const lastPage = await grpc.listParkedDeliveries({ destination, pageSize: 2, pageToken: firstPage.nextPageToken });
    expect(lastPage.deliveries.map((d) => d.userId)).toEqual([userIds[2]]);
    expect(lastPage.nextPageToken).toBe("");
    expect((await grpc.listParkedDeliveries({})).deliveries).toEqual([...firstPage.deliveries, ...lastPage.deliveries]);
    expect((await grpc.listParkedDeliveries({ destination: "stream:nowhere" })).deliveries).toEqual([]);
    const [first, second] = firstPage.deliveries;
    const restPage = await rest("GET", `/zus/v1/deliveries/parked?destination=${encodeURIComponent(destination)}&pageSize=1`);
    expect(restPage.json).toEqual({
      deliveries: [
        { id: String(first!.id), destination, userId: userIds[0], sequence: "2", attempts: 1, lastError: "the target answered 500", creationDate: expect.any(String) },
      ],
      nextPageToken: expect.any(String),
    });

    receiver.status = 200;
    // By id over REST: that one only; an id of none, or of one no longer parked, is not counted.
    expect(await rest("POST", "/zus/v1/deliveries/parked/retry", { ids: [String(first!.id), "999999"] })).toEqual({ status: 200, json: { retried: "1" } });
    await expect.poll(() => acceptedLocks(receiver), { timeout: 10_000 }).toEqual([userIds[0]]);
    expect(await deliveries("connect-json").retryParkedDeliveries({ ids: [first!.id] })).toMatchObject({ retried: 0n });
    expect((await grpc.listParkedDeliveries({ destination })).deliveries.map((d) => d.id)).toEqual([second!.id, lastPage.deliveries[0]!.id]);

    // Every one left of the destination over gRPC, then none is left.
    expect(await grpc.retryParkedDeliveries({ destination })).toMatchObject({ retried: 2n });
    // Different users' deliveries to one destination go out side by side, in any order.
    await expect.poll(() => acceptedLocks(receiver).sort(), { timeout: 10_000 }).toEqual([...userIds].sort());
    await expect.poll(async () => (await grpc.listDestinations({})).destinations, { timeout: 10_000 }).toEqual([]);
    expect(await grpc.retryParkedDeliveries({ destination })).toMatchObject({ retried: 0n });
  });
});

describe("who may", () => {
  it("refuses every call to an organization's owner and to a caller without a token", async () => {
    const owner = await addMachine(server, await addOrg(server), "ORG_OWNER");
    for (const client of [deliveries("connect-json", owner.token), deliveries("grpc", owner.token)]) {
      await expectCode(client.listDestinations({}), Code.PermissionDenied);
      await expectCode(client.listParkedDeliveries({}), Code.PermissionDenied);
      await expectCode(client.retryParkedDeliveries({ destination }), Code.PermissionDenied);
    }
    expect((await rest("GET", "/zus/v1/deliveries/parked", undefined, owner.token)).status).toBe(403);
    await expectCode(deliveries("connect-json", "").listDestinations({}), Code.Unauthenticated);
  });
});

describe("bad input", () => {
  /** Each request, its answer's message; the code is InvalidArgument in every protocol. */
  const CASES: { call: "retryParkedDeliveries" | "listParkedDeliveries"; request: Record<string, unknown>; message: string }[] = [
    { call: "retryParkedDeliveries", request: {}, message: "invalid RetryParkedDeliveriesRequest: ids or destination is required" },
    { call: "retryParkedDeliveries", request: { ids: [1n], destination: "target:1" }, message: "invalid RetryParkedDeliveriesRequest: give ids or destination, not both" },
    { call: "retryParkedDeliveries", request: { destination: "1234" }, message: "invalid RetryParkedDeliveriesRequest.Destination: must be target:<id> or stream:<id>" },
    {
      call: "retryParkedDeliveries",
      request: { ids: Array.from({ length: 1001 }, (_, i) => BigInt(i + 1)) },
      message: "invalid RetryParkedDeliveriesRequest.Ids: value must contain no more than 1000 item(s)",
    },
    { call: "listParkedDeliveries", request: { pageSize: 1001 }, message: "invalid ListParkedDeliveriesRequest.PageSize: value must be less than or equal to 1000" },
    { call: "listParkedDeliveries", request: { pageToken: "bm9wZQ" }, message: "invalid ListParkedDeliveriesRequest.PageToken: not a page token this server gave" },
    { call: "listParkedDeliveries", request: { destination: "queue:1" }, message: "invalid ListParkedDeliveriesRequest.Destination: must be target:<id> or stream:<id>" },
  ];

  it.each(["connect-json", "grpc"] as const)("answers InvalidArgument naming what is wrong over %s", async (protocol) => {
    const client = deliveries(protocol);
    for (const { call, request, message } of CASES) {
      const err = await expectCode((client[call] as (req: unknown) => Promise<unknown>)(request), Code.InvalidArgument);
      expect(err.rawMessage).toBe(message);
    }
  });

  it("answers REST with grpc-gateway's error: HTTP 400 and the code and message in the body", async () => {
    expect(await rest("POST", "/zus/v1/deliveries/parked/retry", {})).toMatchObject({
      status: 400,
      json: { code: Code.InvalidArgument, message: "invalid RetryParkedDeliveriesRequest: ids or destination is required" },
    });
    expect(await rest("GET", "/zus/v1/deliveries/parked?pageSize=1001")).toMatchObject({ status: 400, json: { code: Code.InvalidArgument } });
    expect(await rest("GET", "/zus/v1/deliveries/parked?limit=1")).toMatchObject({ status: 400, json: { code: Code.InvalidArgument, message: 'query parameter "limit" is not supported' } });
  });
});
