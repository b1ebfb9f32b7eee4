/** grpc.health.v1.Health, gRPC server reflection (v1 and v1alpha) through the real `buf curl`, and the HTTP probes. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman, expectCode } from "./support/fixtures.js";
import { ROOT, startServer, type TestServer } from "./support/server.js";

const BUF = join(ROOT, "node_modules", ".bin", "buf");
const USER_SERVICE = "zitadel.user.v2.UserService";
const HEALTH = "grpc.health.v1.Health";

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

/** Runs `buf curl` over gRPC (h2c) with no --schema, so everything it knows comes from reflection. */
function bufCurl(...args: string[]): Promise<BufResult> {
  return new Promise((resolve) => {
    execFile(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { cwd: ROOT, timeout: 25_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (result: BufResult) => {
  expect(result.code, `buf curl failed: ${result.stderr}`).toBe(0);
  return result.stdout.split("\n").map((l) => l.trim()).filter(Boolean);
};

const healthClient = (protocol: Protocol, target: TestServer = server, token?: string): Client<typeof Health> =>
  createClient(Health, transport(protocol, target.baseUrl, token));

describe.each(["grpc-v1", "grpc-v1alpha"])("reflection %s through buf curl, without a token", (reflectProtocol) => {
  const reflect = ["--reflect-protocol", reflectProtocol];

  it("lists the user service and the health service", async () => {
    const services = lines(await bufCurl(...reflect, "--list-services", server.baseUrl));
    expect(services).toContain(USER_SERVICE);
    expect(services).toContain(HEALTH);
  });

  it("lists the action service's seven methods (EXTENSIONS.md §3)", async () => {
    const methods = lines(await bufCurl(...reflect, "--list-methods", server.baseUrl));
    const ACTION_SERVICE = "zitadel.action.v2.ActionService";
    expect(methods.filter((m) => m.startsWith(`${ACTION_SERVICE}/`)).sort()).toEqual(
      ["CreateTarget", "DeleteTarget", "GetTarget", "ListExecutions", "ListTargets", "SetExecution", "UpdateTarget"].map((m) => `${ACTION_SERVICE}/${m}`),
    );
  });

  it("lists LockUser and UnlockUser among the user service's methods", async () => {
    // With reflection, --list-methods takes the base URL and lists every service's methods.
    const methods = lines(await bufCurl(...reflect, "--list-methods", server.baseUrl));
    expect(methods).toContain(`${USER_SERVICE}/LockUser`);
    expect(methods).toContain(`${USER_SERVICE}/UnlockUser`);
    expect(methods).toContain(`${USER_SERVICE}/GetUserByID`);
  });

  it("lists the health service's methods", async () => {
    const methods = lines(await bufCurl(...reflect, "--list-methods", server.baseUrl));
    expect(methods).toEqual(expect.arrayContaining([`${HEALTH}/Check`, `${HEALTH}/Watch`]));
  });

  it("calls LockUser with the admin token and a request built from the reflected schema", async () => {
    const client = userClient("connect-json", server.baseUrl, server.adminToken);
    const userId = await addHuman(client);
    const result = await bufCurl(
      ...reflect,
      "-H",
      `authorization: Bearer ${server.adminToken}`,
      "-d",
      JSON.stringify({ userId }),
      `${server.baseUrl}/${USER_SERVICE}/LockUser`,
    );
    expect(result.code, `buf curl failed: ${result.stderr}`).toBe(0);
    const body = JSON.parse(result.stdout) as { details: { sequence: string; resourceOwner: string } };
    expect(body.details.sequence).toBe("2");
    expect(body.details.resourceOwner).toMatch(/^\d{18}$/);
    expect((await client.getUserByID({ userId })).user!.state).toBe(UserState.LOCKED);
  });

  it("still needs the token for the user service itself", async () => {
    const userId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
    const result = await bufCurl(...reflect, "-d", JSON.stringify({ userId }), `${server.baseUrl}/${USER_SERVICE}/LockUser`);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("unauthenticated");
    const state = (await userClient("grpc", server.baseUrl, server.adminToken).getUserByID({ userId })).user!.state;
    expect(state).toBe(UserState.ACTIVE);
  });

  it("calls Health/Check without a token", async () => {
    const result = await bufCurl(...reflect, "-d", JSON.stringify({ service: USER_SERVICE }), `${server.baseUrl}/${HEALTH}/Check`);
    expect(result.code, `buf curl failed: ${result.stderr}`).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ status: "SERVING" });
  });
});

describe.each(["grpc", "connect-json"] as const)("Health/Check over %s, without a token", (protocol) => {
  it.each(["", USER_SERVICE])("answers SERVING for service %j", async (service) => {
    const res = await healthClient(protocol).check({ service });
    expect(res.status).toBe(Status.SERVING);
  });

  it("answers SERVING with a token too", async () => {
    expect((await healthClient(protocol, server, server.adminToken).check({ service: "" })).status).toBe(Status.SERVING);
  });

  it.each(["no.such.Service", "zitadel.user.v2.UserServic"])("answers NotFound for the unknown service %s", async (service) => {
    await expectCode(healthClient(protocol).check({ service }), Code.NotFound);
  });
});

describe("Health/Watch", () => {
  it("streams SERVING first and ends when the server receives SIGTERM", async () => {
    const watched = await startServer({ env: { SHUTDOWN_GRACE_MS: "5000" } });
    const received: Status[] = [];
    let streamError: unknown;
    let ended = false;
    let onFirst!: () => void;
    const first = new Promise<void>((resolve) => (onFirst = resolve));
    const consume = (async () => {
      try {
        for await (const res of healthClient("grpc", watched).watch({ service: USER_SERVICE })) {
          received.push(res.status);
          onFirst();
        }
      } catch (err) {
        streamError = err;
      } finally {
        ended = true;
        onFirst();
      }
    })();
    try {
      await first;
      expect(streamError).toBeUndefined();
      expect(received[0]).toBe(Status.SERVING);
      // Nothing changes while the server runs: still one message, stream open.
      await new Promise((r) => setTimeout(r, 1500));
      expect(ended).toBe(false);
      expect(received).toEqual([Status.SERVING]);

      const sentAt = Date.now();
      const exit = watched.stop("SIGTERM");
      const endedInTime = await Promise.race([consume.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 4000))]);
      expect(endedInTime, "the Watch stream must end promptly after SIGTERM, not wait for the grace period").toBe(true);
      expect(Date.now() - sentAt).toBeLessThan(4000);
      // Watchers hear NOT_SERVING before the stream ends cleanly.
      expect(streamError).toBeUndefined();
      expect(received).toEqual([Status.SERVING, Status.NOT_SERVING]);
      expect(await exit).toBe(0);
    } finally {
      await watched.stop("SIGKILL");
    }
  });

  it("reports SERVICE_UNKNOWN for an unknown service", async () => {
    const statuses: Status[] = [];
    for await (const res of healthClient("grpc").watch({ service: "no.such.Service" })) statuses.push(res.status);
    expect(statuses).toEqual([Status.SERVICE_UNKNOWN]);
  });
});

describe("HTTP probes, without a token", () => {
  it("answers /healthz with 200 ok", async () => {
    const res = await fetch(`${server.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe("ok");
  });

  it("answers /readyz with 200", async () => {
    const res = await fetch(`${server.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe("ready");
  });

  it("answers HEAD /healthz with 200 and no body", async () => {
    const res = await fetch(`${server.baseUrl}/healthz`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it.each(["POST", "DELETE", "PUT"])("answers %s /healthz with 405 and Allow", async (method) => {
    const res = await fetch(`${server.baseUrl}/healthz`, { method, body: method === "DELETE" ? undefined : "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toMatch(/GET/);
  });

  it("answers POST /readyz with 405", async () => {
    expect((await fetch(`${server.baseUrl}/readyz`, { method: "POST", body: "" })).status).toBe(405);
  });
});
