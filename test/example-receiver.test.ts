/**
 * The example receiver of docs/events.md (examples/receiver.mjs, shown there as it is) against a
 * real server: it receives a lock as two SETs pushed to it and an Actions v2 webhook, and believes
 * them; a SET or a webhook it cannot verify is refused with RFC 8935's error object or a 400.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { userClient } from "./support/clients.js";
import { addHuman, addMachine, addOrg } from "./support/fixtures.js";
import { ROOT, startServer, type TestServer } from "./support/server.js";
import { PUSH, ssfCall } from "./support/ssf-http.js";
import { sleep, until } from "./support/wait.js";

const EXAMPLE = join(ROOT, "examples", "receiver.mjs");

let server: TestServer;
let receiver: ChildProcess;
let output = "";
let port = 0;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}


beforeAll(async () => {
  server = await startServer({ env: { OUTBOUND_URL_ALLOW: "http://127.0.0.1" } });
  port = await freePort();
  const auth = { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" };
  const target = (await (
    await fetch(`${server.baseUrl}/v2/actions/targets`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "example", restAsync: {}, timeout: "5s", endpoint: `http://127.0.0.1:${port}/actions` }),
    })
  ).json()) as { id: string; signingKey: string };
  const execution = await fetch(`${server.baseUrl}/v2/actions/executions`, {
    method: "PUT",
    headers: auth,
    body: JSON.stringify({ condition: { event: { event: "user.locked" } }, targets: [target.id] }),
  });
  expect(execution.status).toBe(200);
  const crm = await addMachine(server, await addOrg(server), "SSF_RECEIVER");
  const stream = await ssfCall(server, "POST", "/ssf/streams", {
    token: crm.token,
    body: { delivery: { method: PUSH, endpoint_url: `http://127.0.0.1:${port}/ssf` }, events_requested: ["https://schemas.openid.net/secevent/risc/event-type/account-disabled", "https://schemas.openid.net/secevent/caep/event-type/session-revoked"] },
  });
  expect(stream.status).toBe(201);

  receiver = spawn(process.execPath, [EXAMPLE], {
    cwd: ROOT,
    env: { ...process.env, ISSUER: (await ssfCall(server, "GET", "/.well-known/ssf-configuration")).json.issuer, AUDIENCE: crm.userId, ACTIONS_SIGNING_KEY: target.signingKey, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  receiver.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  receiver.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await until(() => output.includes("listening on"));
  // Executions and streams reach the delivery routes within a second.
  await sleep(1_200);
});
afterAll(async () => {
  receiver?.kill();
  await server?.stop();
});

it("is the receiver docs/events.md shows", () => {
  const docs = readFileSync(join(ROOT, "docs", "events.md"), "utf8");
  expect(docs).toContain("```js\n" + readFileSync(EXAMPLE, "utf8") + "```");
});

it("believes a lock: its two SETs and its webhook", async () => {
  const userId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
  await userClient("grpc", server.baseUrl, server.adminToken).lockUser({ userId });
  await until(() => (output.match(new RegExp(`user=${userId}`, "g")) ?? []).length >= 3);
  const lines = output.split("\n").filter((line) => line.includes(`user=${userId}`));
  expect(lines.map((line) => line.split(" ").slice(0, 2).join(" ")).sort()).toEqual(["ACTION user.locked", "SET account-disabled", "SET session-revoked"]);
  const txns = lines.filter((line) => line.startsWith("SET")).map((line) => /txn=(\S+)/.exec(line)![1]);
  expect(new Set(txns).size).toBe(1);
});

it("refuses what it cannot verify", async () => {
  const forged = await fetch(`http://127.0.0.1:${port}/ssf`, { method: "POST", headers: { "content-type": "application/secevent+jwt" }, body: "eyJhbGciOiJub25lIn0.e30." });
  expect(forged.status).toBe(400);
  expect(((await forged.json()) as { err: string }).err).toMatch(/^invalid_/);
  const unsigned = await fetch(`http://127.0.0.1:${port}/actions`, { method: "POST", headers: { "zitadel-signature": "t=1,v1=00" }, body: "{}" });
  expect(unsigned.status).toBe(400);
});
