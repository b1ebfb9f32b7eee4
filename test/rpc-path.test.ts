/**
 * RPC_FAST_PATH chooses how calls are served (src/rpc/rpc-handlers.ts): the servers of the
 * stock-path project (vitest.config.ts) really run on Connect-ES's handlers, and a wrong value
 * stops the start with a clear line instead of being ignored.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/server.js";
import { userClient } from "./support/clients.js";

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

  it("refuses any other value at start", async () => {
    const start = startServer({ env: { RPC_FAST_PATH: "fast" } });
    await expect(start).rejects.toThrow(/RPC_FAST_PATH must be on or off, got \\"fast\\"/);
  });
});
