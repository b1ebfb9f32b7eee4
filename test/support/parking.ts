/**
 * Parked deliveries made the real way, for the tests of their administration: an Actions v2
 * target pointing at a receiver on 127.0.0.1 that answers 500 until told otherwise, on a server
 * that parks a delivery at its first failure.
 */
import { createServer, type Server } from "node:http";
import { createClient } from "@connectrpc/connect";
import { expect } from "vitest";
import { DeliveryService } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { transport } from "./clients.js";
import type { TestServer } from "./server.js";

/** Targets may point at 127.0.0.1; a delivery that fails is parked at once (given up after 1 ms). */
export const PARKING_ENV = { OUTBOUND_URL_ALLOW: "http://127.0.0.1", DELIVERY_GIVE_UP_MS: "1" };

/** A receiver that answers `status` and keeps what it accepted: each event's user and sequence. */
export class Receiver {
  status = 500;
  readonly accepted: { userId: string; sequence: number; type: string }[] = [];
  private server?: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (this.status === 200) {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
          this.accepted.push({ userId: String(body.aggregateID), sequence: Number(body.sequence), type: String(body.event_type) });
        }
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function rest(server: TestServer, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, `${method} ${path}`).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** A rest_async target at the receiver, sent every user.locked; in effect once the server's routes are read again (within a second). */
export async function lockTarget(server: TestServer, receiver: Receiver, name: string): Promise<{ id: string; name: string }> {
  const target = await rest(server, "POST", "/v2/actions/targets", { name, restAsync: {}, timeout: "5s", endpoint: receiver.url });
  await rest(server, "PUT", "/v2/actions/executions", { condition: { event: { event: "user.locked" } }, targets: [target.id] });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return { id: String(target.id), name };
}

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
