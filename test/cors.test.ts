/** CORS for browser clients: preflights, real cross-origin calls, refused origins, and no CORS by default. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

const APP = "https://app.example";
const ADMIN = "https://admin.example";
const EVIL = "https://evil.example";
const LOCK_PATH = "/zitadel.user.v2.UserService/LockUser";

let server: TestServer;
let plain: TestServer;
beforeAll(async () => {
  [server, plain] = await Promise.all([startServer({ env: { CORS_ORIGINS: `${APP},${ADMIN}` } }), startServer()]);
});
afterAll(() => Promise.all([server?.stop(), plain?.stop()]));

/** A header's comma-separated values, lower-cased. */
const list = (value: string | null) => (value ?? "").split(",").map((v) => v.trim().toLowerCase()).filter(Boolean);

const preflight = (base: string, path: string, origin: string, requestHeaders: string) =>
  fetch(`${base}${path}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": requestHeaders },
  });

const connectLock = (base: string, token: string, userId: string, origin?: string) =>
  fetch(`${base}${LOCK_PATH}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${token}`,
      ...(origin ? { origin } : {}),
    },
    body: JSON.stringify({ userId }),
  });

const restLock = (base: string, token: string, userId: string, origin?: string) =>
  fetch(`${base}/v2/users/${userId}/lock`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(origin ? { origin } : {}) },
    body: "{}",
  });

async function stateOf(target: TestServer, userId: string): Promise<UserState> {
  const client = userClient("connect-json", target.baseUrl, target.adminToken);
  return (await client.getUserByID({ userId })).user!.state;
}

const newUser = (target: TestServer) => addHuman(userClient("connect-json", target.baseUrl, target.adminToken));

const PREFLIGHTS = [
  { name: "Connect JSON", path: LOCK_PATH, headers: "content-type,authorization,connect-protocol-version" },
  { name: "gRPC-Web", path: LOCK_PATH, headers: "x-grpc-web,x-user-agent,content-type" },
  { name: "REST", path: "/v2/users/1/lock", headers: "content-type,authorization" },
];

describe("with CORS_ORIGINS set", () => {
  describe.each(PREFLIGHTS)("preflight for $name", ({ path, headers }) => {
    it.each([APP, ADMIN])("allows the listed origin %s", async (origin) => {
      const res = await preflight(server.baseUrl, path, origin, headers);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(list(res.headers.get("access-control-allow-methods"))).toContain("post");
      const allowed = list(res.headers.get("access-control-allow-headers"));
      for (const requested of list(headers)) expect(allowed, `allow-headers must cover ${requested}`).toContain(requested);
      const maxAge = res.headers.get("access-control-max-age");
      expect(maxAge).toMatch(/^\d+$/);
      expect(Number(maxAge)).toBeGreaterThan(0);
      expect(await res.text()).toBe("");
    });

    it("refuses an unlisted origin", async () => {
      const res = await preflight(server.baseUrl, path, EVIL, headers);
      expect(res.status).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-methods")).toBeNull();
      expect(res.headers.get("access-control-allow-headers")).toBeNull();
    });
  });

  it.each([
    ["Connect JSON", connectLock],
    ["REST", restLock],
  ] as const)("lets a listed origin make a real %s LockUser call and read its answer", async (_name, lock) => {
    const userId = await newUser(server);
    const res = await lock(server.baseUrl, server.adminToken, userId, APP);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    const exposed = list(res.headers.get("access-control-expose-headers"));
    for (const header of ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"]) {
      expect(exposed, `expose-headers must include ${header}`).toContain(header);
    }
    const body = (await res.json()) as { details: { sequence: string } };
    expect(body.details.sequence).toBe("2");
    expect(await stateOf(server, userId)).toBe(UserState.LOCKED);
  });

  it("exposes the CORS headers on a failing call too", async () => {
    const userId = await newUser(server);
    expect((await connectLock(server.baseUrl, server.adminToken, userId, ADMIN)).status).toBe(200);
    const again = await connectLock(server.baseUrl, server.adminToken, userId, ADMIN);
    expect(again.status).toBe(400);
    expect(again.headers.get("access-control-allow-origin")).toBe(ADMIN);
    expect(list(again.headers.get("access-control-expose-headers"))).toContain("grpc-status");
  });

  it.each([
    ["Connect JSON", connectLock],
    ["REST", restLock],
  ] as const)("refuses a real %s call from an unlisted origin without changing the user", async (_name, lock) => {
    const userId = await newUser(server);
    const res = await lock(server.baseUrl, server.adminToken, userId, EVIL);
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-expose-headers")).toBeNull();
    expect(await stateOf(server, userId)).toBe(UserState.ACTIVE);
  });

  it("does not treat an origin that only resembles a listed one as listed", async () => {
    const userId = await newUser(server);
    for (const origin of [`${APP}.evil.example`, "http://app.example", `${APP}:8443`, "https://APP.example/"]) {
      const res = await connectLock(server.baseUrl, server.adminToken, userId, origin);
      expect(res.status, origin).toBe(403);
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
    expect(await stateOf(server, userId)).toBe(UserState.ACTIVE);
  });

  it.each([
    ["Connect JSON", connectLock],
    ["REST", restLock],
  ] as const)("leaves a %s request without Origin unaffected", async (_name, lock) => {
    const userId = await newUser(server);
    const res = await lock(server.baseUrl, server.adminToken, userId);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-expose-headers")).toBeNull();
    expect(await stateOf(server, userId)).toBe(UserState.LOCKED);
  });

  it("keeps the gRPC, gRPC-Web and Connect clients (no Origin) working", async () => {
    for (const protocol of ["grpc", "grpc-web", "connect-json"] as const) {
      const client = userClient(protocol, server.baseUrl, server.adminToken);
      const userId = await addHuman(client);
      await client.lockUser({ userId });
      expect((await client.getUserByID({ userId })).user!.state).toBe(UserState.LOCKED);
    }
  });
});

describe("without CORS_ORIGINS", () => {
  it.each(PREFLIGHTS)("refuses the $name preflight from any origin", async ({ path, headers }) => {
    for (const origin of [APP, ADMIN, EVIL]) {
      const res = await preflight(plain.baseUrl, path, origin, headers);
      expect(res.status, origin).toBe(403);
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
  });

  it.each([
    ["Connect JSON", connectLock],
    ["REST", restLock],
  ] as const)("refuses a real cross-origin %s call and leaves the user unchanged", async (_name, lock) => {
    const userId = await newUser(plain);
    for (const origin of [APP, EVIL]) {
      const res = await lock(plain.baseUrl, plain.adminToken, userId, origin);
      expect(res.status, origin).toBe(403);
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
    expect(await stateOf(plain, userId)).toBe(UserState.ACTIVE);
  });

  it("serves a request from the server's own origin (the admin console) as same-origin, without CORS headers", async () => {
    const userId = await newUser(plain);
    const res = await connectLock(plain.baseUrl, plain.adminToken, userId, plain.baseUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await stateOf(plain, userId)).toBe(UserState.LOCKED);
    // The same host on another port or scheme is another origin.
    const other = await connectLock(plain.baseUrl, plain.adminToken, await newUser(plain), `https://127.0.0.1:${plain.port}`);
    expect(other.status).toBe(403);
  });

  it("still serves a request without Origin", async () => {
    const userId = await newUser(plain);
    const res = await connectLock(plain.baseUrl, plain.adminToken, userId);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await stateOf(plain, userId)).toBe(UserState.LOCKED);
  });
});
