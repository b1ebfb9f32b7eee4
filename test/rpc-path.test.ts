/**
 * RPC_FAST_PATH chooses how calls are served (src/rpc/rpc-handlers.ts): the servers of the
 * stock-path project (vitest.config.ts) really run on Connect-ES's handlers, and a wrong value
 * stops the start with a clear line instead of being ignored.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/server.js";
import { createClient } from "@connectrpc/connect";
import { UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport, userClient } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";

const servers: TestServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));

const listening = (output: string) => JSON.parse(output.split("\n").find((line) => line.includes('"msg":"listening"'))!) as { rpcPath: string };

describe("RPC_FAST_PATH", () => {
  it.each([
    ["on", "fast"],
    ["off", "stock"],
  ] as const)("%s: the server says which path serves its calls, and serves them", async (value, path) => {
    const server = await startServer({ env: { RPC_FAST_PATH: value } });
    servers.push(server);
    expect(listening(server.output()).rpcPath).toBe(path);
    const client = userClient("grpc-web", server.baseUrl, server.adminToken);
    const { result } = await client.listUsers({});
    expect(result.length).toBeGreaterThan(0);
  });

  it("off: a watch streams its user's events and heartbeats through Connect-ES's handlers", async () => {
    const server = await startServer({ env: { RPC_FAST_PATH: "off", WATCH_HEARTBEAT_MS: "300" } });
    servers.push(server);
    const users = userClient("connect-json", server.baseUrl, server.adminToken);
    const userId = await addHuman(users);
    const records = createClient(UserRecordService, transport("connect-json", server.baseUrl, server.adminToken));
    const stream = records.watchUserEvents({ userId })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.kind.case).toBe("heartbeat");
    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    const kinds: string[] = [];
    while (kinds.filter((k) => k !== "heartbeat").length < 2) {
      const { value } = await stream.next();
      kinds.push(value?.kind.case === "event" ? `${value.kind.value.type}#${value.kind.value.sequence}` : String(value?.kind.case));
    }
    expect(kinds.filter((k) => k !== "heartbeat")).toEqual(["user.locked#2", "user.unlocked#3"]);
    await stream.return?.();
  });

  it("refuses any other value at start", async () => {
    const start = startServer({ env: { RPC_FAST_PATH: "fast" } });
    await expect(start).rejects.toThrow(/RPC_FAST_PATH must be on or off, got \\"fast\\"/);
  });
});
