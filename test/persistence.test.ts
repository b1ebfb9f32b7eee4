/** What survives a restart or a crash: the event log, the read model, the admin token file; SQLite in WAL mode. */
import { readFileSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient } from "./support/clients.js";
import { addHuman, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

const running: TestServer[] = [];
async function start(options: { dataDir?: string } = {}): Promise<TestServer> {
  const server = await startServer(options);
  running.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
});
afterAll(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
});

describe("persistence", () => {
  it("keeps a lock and its sequence across a restart, and unlock works afterwards", async () => {
    const server = await start();
    let client = userClient("grpc", server.baseUrl, server.adminToken);
    const userId = await addHuman(client);
    const locked = await client.lockUser({ userId });
    expect(locked.details!.sequence).toBe(2n);
    const before = await client.getUserByID({ userId });
    expect(before.user!.state).toBe(UserState.LOCKED);

    await server.restart();
    client = userClient("grpc", server.baseUrl, server.adminToken);

    const after = await client.getUserByID({ userId });
    expect(after.user!.state).toBe(UserState.LOCKED);
    expect(after.details!.sequence).toBe(2n);
    expect(after.details!.resourceOwner).toBe(before.details!.resourceOwner);
    expect(after.details!.changeDate).toEqual(before.details!.changeDate);

    await expectZitadelError(client.lockUser({ userId }), Code.FailedPrecondition, "COMMAND-lgws8wtsqf", "User is not active or initial");
    const unlocked = await client.unlockUser({ userId });
    expect(unlocked.details!.sequence).toBe(3n);
    expect((await client.getUserByID({ userId })).user!.state).toBe(UserState.ACTIVE);
  });

  it("keeps an acknowledged lock after the server is killed with SIGKILL", { timeout: 60_000 }, async () => {
    const first = await start();
    const client = userClient("connect-json", first.baseUrl, first.adminToken);
    const userId = await addHuman(client);
    const locked = await client.lockUser({ userId });
    expect(locked.details!.sequence).toBe(2n);
    // Killed right after the acknowledgement: no graceful close of the database.
    await first.stop("SIGKILL");

    const second = await start({ dataDir: first.dataDir });
    expect(second.adminToken).toBe(first.adminToken);
    const again = userClient("connect-json", second.baseUrl, second.adminToken);
    const read = await again.getUserByID({ userId });
    expect(read.user!.state).toBe(UserState.LOCKED);
    expect(read.details!.sequence).toBe(2n);

    const db = new Database(second.databaseFile, { readonly: true, fileMustExist: true });
    try {
      const types = db
        .prepare("select type from events where aggregate_id = ? order by sequence")
        .all(userId)
        .map((row) => (row as { type: string }).type);
      expect(types.at(-1)).toBe("user.locked");
      expect(types).toHaveLength(2);
    } finally {
      db.close();
    }
    await expectZitadelError(again.lockUser({ userId }), Code.FailedPrecondition, "COMMAND-lgws8wtsqf", "User is not active or initial");
  });

  it("writes the admin token file once, with mode 0600, and never prints the token", { timeout: 90_000 }, async () => {
    const server = await start();
    const mode = statSync(server.adminTokenFile).mode & 0o777;
    expect(mode.toString(8)).toBe("600");
    const content = readFileSync(server.adminTokenFile, "utf8");
    const mtime = statSync(server.adminTokenFile).mtimeMs;
    const token = content.trim();
    expect(token.length).toBeGreaterThanOrEqual(20);
    expect(server.output()).not.toContain(token);

    // Make sure a rewrite would show in the mtime even on coarse-grained file systems.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.restart();
    expect(readFileSync(server.adminTokenFile, "utf8")).toBe(content);
    expect(statSync(server.adminTokenFile).mtimeMs).toBe(mtime);
    expect(statSync(server.adminTokenFile).mode & 0o777).toBe(0o600);

    await server.restart();
    expect(readFileSync(server.adminTokenFile, "utf8")).toBe(content);
    expect(statSync(server.adminTokenFile).mtimeMs).toBe(mtime);

    // The token from the first start still authenticates.
    const client = userClient("grpc-web", server.baseUrl, token);
    const userId = await addHuman(client);
    expect((await client.getUserByID({ userId })).user!.state).toBe(UserState.ACTIVE);

    // Across all three starts, the token never appeared in stdout or stderr.
    const output = server.output();
    expect(output.match(/"msg":"listening"/g)).toHaveLength(3);
    expect(output).not.toContain(token);
  });

  it("runs the SQLite database in WAL mode", async () => {
    const server = await start();
    const db = new Database(server.databaseFile, { readonly: true, fileMustExist: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });
});
