/**
 * Parked deliveries made the real way, for the tests of their administration: an Actions v2
 * target whose receiver on 127.0.0.1 (actions-receiver.ts) answers 500 until told otherwise, on a
 * server that parks a delivery at its first failure.
 */
import { createClient } from "@connectrpc/connect";
import { DeliveryService } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { attachTarget, type ActionsReceiver } from "./actions-receiver.js";
import { transport } from "./clients.js";
import type { TestServer } from "./server.js";

/** Targets may point at 127.0.0.1; a delivery that fails is parked at once (given up after 1 ms). */
export const PARKING_ENV = { OUTBOUND_URL_ALLOW: "http://127.0.0.1", DELIVERY_GIVE_UP_MS: "1" };

/** The receiver, refusing (500), as a target sent every user.locked; in effect once the server's routes are read again. */
export async function refusingLockTarget(server: TestServer, receiver: ActionsReceiver, name: string): Promise<{ id: string; name: string }> {
  receiver.status = 500;
  const id = await attachTarget(server, receiver, name, ["user.locked"]);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return { id, name };
}

/** The users whose lock the receiver took, in the order it took them; each checked against its signature. */
export const acceptedLocks = (receiver: ActionsReceiver): string[] =>
  receiver.received.filter((call) => call.signatureValid && call.body.event_type === "user.locked").map((call) => String(call.body.aggregateID));

/** Waits until the destination has `parked` parked deliveries and nothing waiting (in a test or a hook, where expect.poll is not). */
export async function untilParked(server: TestServer, destination: string, parked: number): Promise<void> {
  const client = createClient(DeliveryService, transport("connect-json", server.baseUrl, server.adminToken));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const state = (await client.listDestinations({})).destinations.find((d) => d.destination === destination);
    if (state?.waiting === 0n && state.parked === BigInt(parked)) return;
    if (Date.now() > deadline) throw new Error(`${destination} has not ${parked} parked deliveries in time: ${JSON.stringify(state, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
