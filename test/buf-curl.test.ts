/** Clients that are not Connect-ES: the real `buf curl` binary on each protocol, and raw HTTP with JSON. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userClient } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { ROOT, startServer, type TestServer } from "./support/server.js";

const BUF = join(ROOT, "node_modules", ".bin", "buf");
const SERVICE = "zitadel.user.v2.UserService";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

interface BufResult {
  code: number;
  stdout: string;
  stderr: string;
}

function bufCurl(protocol: "grpc" | "grpcweb" | "connect", method: string, body: unknown): Promise<BufResult> {
  const args = ["curl", "--schema", "proto", "--protocol", protocol];
  if (protocol === "grpc") args.push("--http2-prior-knowledge");
  args.push("-H", `authorization: Bearer ${server.adminToken}`, "-d", JSON.stringify(body), `${server.baseUrl}/${SERVICE}/${method}`);
  return new Promise((resolve) => {
    execFile(BUF, args, { cwd: ROOT, timeout: 25_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function parseOk(result: BufResult): Record<string, any> {
  expect(result.code, `buf curl failed: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as Record<string, any>;
}

async function newUser(): Promise<string> {
  return addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
}

describe("buf curl", () => {
  it("locks over grpc, unlocks over grpcweb, reads over connect", async () => {
    const userId = await newUser();

    const locked = parseOk(await bufCurl("grpc", "LockUser", { userId }));
    expect(locked.details.sequence).toBe("2");
    expect(locked.details.resourceOwner).toMatch(/^\d{18}$/);
    expect(locked.details.changeDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const readLocked = parseOk(await bufCurl("connect", "GetUserByID", { userId }));
    expect(readLocked.user.state).toBe("USER_STATE_LOCKED");

    const unlocked = parseOk(await bufCurl("grpcweb", "UnlockUser", { userId }));
    expect(unlocked.details.sequence).toBe("3");
    expect(unlocked.details.resourceOwner).toBe(locked.details.resourceOwner);

    const read = parseOk(await bufCurl("connect", "GetUserByID", { userId }));
    expect(read.user.userId).toBe(userId);
    expect(read.user.state).toBe("USER_STATE_ACTIVE");
    expect(read.details.sequence).toBe("3");
  });

  it.each(["grpc", "grpcweb", "connect"] as const)("exits non-zero with the ZITADEL error on a second lock over %s", async (protocol) => {
    const userId = await newUser();
    parseOk(await bufCurl(protocol, "LockUser", { userId }));

    const failed = await bufCurl(protocol, "LockUser", { userId });
    expect(failed.code).not.toBe(0);
    const printed = failed.stdout + failed.stderr;
    expect(printed).toContain("failed_precondition");
    expect(printed).toContain("COMMAND-lgws8wtsqf");
    expect(printed).toContain("User is not active or initial");
  });
});

describe("raw HTTP POST with JSON (curl style)", () => {
  const post = (method: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.baseUrl}/${SERVICE}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${server.adminToken}`, ...headers },
      body,
    });

  it("returns proto3 JSON details with lowerCamelCase keys and the sequence as a string", async () => {
    const userId = await newUser();
    const res = await post("LockUser", JSON.stringify({ userId }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const text = await res.text();
    const body = JSON.parse(text) as { details: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(["details"]);
    expect(body.details.sequence).toBe("2");
    expect(text).toContain('"sequence":"2"');
    expect(body.details.resourceOwner).toMatch(/^\d{18}$/);
    expect(typeof body.details.changeDate).toBe("string");
    expect(Number.isNaN(Date.parse(body.details.changeDate as string))).toBe(false);
    for (const key of Object.keys(body.details)) {
      expect(key, "keys must be lowerCamelCase").toMatch(/^[a-z][a-zA-Z0-9]*$/);
    }
    expect(text).not.toContain("resource_owner");
    expect(text).not.toContain("change_date");
  });

  it("accepts the snake_case key user_id as well as userId on input", async () => {
    const userId = await newUser();
    const locked = await post("LockUser", JSON.stringify({ user_id: userId }));
    expect(locked.status).toBe(200);
    expect(((await locked.json()) as { details: { sequence: string } }).details.sequence).toBe("2");

    const unlocked = await post("UnlockUser", JSON.stringify({ userId }));
    expect(unlocked.status).toBe(200);
    expect(((await unlocked.json()) as { details: { sequence: string } }).details.sequence).toBe("3");

    const read = await post("GetUserByID", JSON.stringify({ user_id: userId }));
    expect(read.status).toBe(200);
    const body = (await read.json()) as { user: { userId: string; state: string } };
    expect(body.user.userId).toBe(userId);
    expect(body.user.state).toBe("USER_STATE_ACTIVE");
  });

  it("answers a failed precondition with a Connect error body", async () => {
    const userId = await newUser();
    expect((await post("LockUser", JSON.stringify({ userId }))).status).toBe(200);
    const again = await post("LockUser", JSON.stringify({ userId }));
    expect(again.status).toBe(400);
    const body = (await again.json()) as { code: string; message: string };
    expect(body.code).toBe("failed_precondition");
    expect(body.message).toBe("User is not active or initial (COMMAND-lgws8wtsqf)");
  });
});
