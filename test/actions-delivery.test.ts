/**
 * Actions v2 delivery end to end (EXTENSIONS.md §2–§3): a target and an execution made over
 * REST, then a lock and an unlock made over gRPC reach a real HTTP receiver on 127.0.0.1, signed
 * as ZITADEL signs them, in order; the execution's other events do not; a receiver down at first
 * gets the events once it is back.
 */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { userClient } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let receiver: Server;
let receiverUrl: string;
let answer = 503;
const received: { body: Record<string, unknown>; valid: boolean; at: number }[] = [];
let signingKey = "";

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const [t, v1] = String(req.headers["zitadel-signature"]).split(",").map((part) => part.split("=")[1]);
      if (answer === 200) {
        const valid = v1 === createHmac("sha256", signingKey).update(`${t}.${raw}`).digest("hex");
        received.push({ body: JSON.parse(raw), valid, at: Date.now() });
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  server = await startServer({ env: { OUTBOUND_URL_ALLOW: "http://127.0.0.1" } });
});
afterAll(async () => {
  await server?.stop();
  receiver?.closeAllConnections();
  receiver?.close();
});

async function rest(method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

it("sends the events an execution names to its target, signed, in order, and again once a receiver that was down is back", async () => {
  const target = await rest("POST", "/v2/actions/targets", {
    name: "lock-hook",
    restAsync: {},
    timeout: "5s",
    endpoint: receiverUrl,
  });
  signingKey = target.signingKey as string;
  await rest("PUT", "/v2/actions/executions", { condition: { event: { event: "user.locked" } }, targets: [target.id] });
  await rest("PUT", "/v2/actions/executions", { condition: { event: { event: "user.unlocked" } }, targets: [target.id] });
  // Executions reach the routes within a second (delivery-routes.ts).
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const users = userClient("grpc", server.baseUrl, server.adminToken);
  const userId = await addHuman(users);
  await users.lockUser({ userId });
  await users.unlockUser({ userId });
  await users.deactivateUser({ userId });
  // Down for the first attempts: the deliveries wait and are retried.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(received).toEqual([]);
  answer = 200;
  const deadline = Date.now() + 15_000;
  while (received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 300));

  expect(received.map((r) => [r.body.event_type, r.body.sequence, r.body.aggregateID, r.valid])).toEqual([
    ["user.locked", 2, userId, true],
    ["user.unlocked", 3, userId, true],
  ]);
  expect(received[0]!.body).toMatchObject({ aggregateType: "user", instanceID: "zitadel-user-state", version: "v2" });
  expect(server.output()).not.toContain(signingKey);
});
