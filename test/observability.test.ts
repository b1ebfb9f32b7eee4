/** Call logs (pino JSON lines), request ids, secrets kept out of the output, Prometheus metrics, LOG_LEVEL. */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userClient, type Protocol } from "./support/clients.js";
import { addHuman, addMachine, addOrg, expectCode } from "./support/fixtures.js";
import { freePort, newDataDir, ROOT, SERVER_ENTRY, startServer, type TestServer } from "./support/server.js";
import { SERVERS_ON_POSTGRES } from "./support/postgres.js";

const LOCK = "zitadel.user.v2.UserService/LockUser";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PASSWORD = "0bs3rv-Secret-Pa55word!";

type LogLine = Record<string, unknown>;

function jsonLines(output: string): LogLine[] {
  return output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return { unparsed: line };
      }
    });
}

const callLines = (target: TestServer) => jsonLines(target.output()).filter((line) => line.msg === "call");
const callsWithId = (target: TestServer, requestId: string) => callLines(target).filter((line) => line.requestId === requestId);

/** Waits until the server has logged `count` call lines with this id (the log follows the answer). */
async function waitForCalls(target: TestServer, requestId: string, count = 1): Promise<LogLine[]> {
  const deadline = Date.now() + 3000;
  while (callsWithId(target, requestId).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 50));
  return callsWithId(target, requestId);
}

/** The single call line for a request id, checked for shape. */
async function theCall(target: TestServer, requestId: string): Promise<LogLine> {
  const lines = await waitForCalls(target, requestId);
  expect(lines, `exactly one call line for ${requestId}`).toHaveLength(1);
  const line = lines[0]!;
  expect(typeof line.durationMs).toBe("number");
  expect(Number.isFinite(line.durationMs)).toBe(true);
  expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
  return line;
}

/** Calls a Connect-ES client with an x-request-id and returns the id echoed in the response header. */
async function withRequestId<T>(
  requestId: string | undefined,
  call: (options: { headers?: Record<string, string>; onHeader(h: Headers): void }) => Promise<T>,
): Promise<{ echoed: string | null; error?: ConnectError }> {
  let echoed: string | null = null;
  const options = {
    headers: requestId ? { "x-request-id": requestId } : undefined,
    onHeader: (h: Headers) => (echoed = h.get("x-request-id")),
  };
  try {
    await call(options);
    return { echoed };
  } catch (err) {
    const error = ConnectError.from(err);
    return { echoed: echoed ?? error.metadata.get("x-request-id"), error };
  }
}

interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseProm(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const sample = (samples: PromSample[], name: string, labels: Record<string, string>) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

const CLIENT_PROTOCOLS: { client: Protocol; logged: string }[] = [
  { client: "grpc", logged: "grpc" },
  { client: "grpc-web", logged: "grpc-web" },
  { client: "connect-json", logged: "connect" },
];

describe("call log lines", () => {
  describe.each(CLIENT_PROTOCOLS)("over $client", ({ client: protocol, logged }) => {
    it("logs one line per call with method, protocol, code, duration and the given request id", async () => {
      const client = userClient(protocol, server.baseUrl, server.adminToken);
      const userId = await addHuman(client);

      const okId = `trace-abc-${protocol}`;
      const ok = await withRequestId(okId, (o) => client.lockUser({ userId }, o));
      expect(ok.error).toBeUndefined();
      expect(ok.echoed).toBe(okId);
      expect(await theCall(server, okId)).toMatchObject({ msg: "call", method: LOCK, protocol: logged, code: "ok", requestId: okId });

      const failId = `trace-fail-${protocol}`;
      const failed = await withRequestId(failId, (o) => client.lockUser({ userId }, o));
      expect(failed.error?.code).toBe(Code.FailedPrecondition);
      expect(failed.echoed).toBe(failId);
      expect(await theCall(server, failId)).toMatchObject({ method: LOCK, protocol: logged, code: "failed_precondition" });

      const anonId = `trace-anon-${protocol}`;
      const anonymous = userClient(protocol, server.baseUrl);
      const anon = await withRequestId(anonId, (o) => anonymous.lockUser({ userId }, o));
      expect(anon.error?.code).toBe(Code.Unauthenticated);
      expect(await theCall(server, anonId)).toMatchObject({ method: LOCK, protocol: logged, code: "unauthenticated" });

      const badId = `trace-bad-${protocol}`;
      const bad = await withRequestId(badId, (o) => client.lockUser({ userId: "" }, o));
      expect(bad.error?.code).toBe(Code.InvalidArgument);
      expect(await theCall(server, badId)).toMatchObject({ method: LOCK, protocol: logged, code: "invalid_argument" });
    });

    it("generates a uuid request id when none is given, logs and echoes it", async () => {
      const client = userClient(protocol, server.baseUrl, server.adminToken);
      const userId = await addHuman(client);
      const { echoed, error } = await withRequestId(undefined, (o) => client.lockUser({ userId }, o));
      expect(error).toBeUndefined();
      expect(echoed).toMatch(UUID);
      expect(await theCall(server, echoed!)).toMatchObject({ method: LOCK, protocol: logged, code: "ok" });
    });
  });

  it("logs the exact request id trace-abc and echoes it", async () => {
    const client = userClient("connect-json", server.baseUrl, server.adminToken);
    const userId = await addHuman(client);
    const { echoed } = await withRequestId("trace-abc", (o) => client.lockUser({ userId }, o));
    expect(echoed).toBe("trace-abc");
    expect(await theCall(server, "trace-abc")).toMatchObject({ method: LOCK, protocol: "connect", code: "ok", requestId: "trace-abc" });
  });

  it("logs REST calls, successful and failing, with protocol rest", async () => {
    const userId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
    const rest = (requestId: string | undefined, token?: string) =>
      fetch(`${server.baseUrl}/v2/users/${userId}/lock`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(requestId ? { "x-request-id": requestId } : {}),
        },
        body: "{}",
      });

    const ok = await rest("trace-rest-ok", server.adminToken);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe("trace-rest-ok");
    expect(await theCall(server, "trace-rest-ok")).toMatchObject({ method: LOCK, protocol: "rest", code: "ok" });

    const again = await rest("trace-rest-fail", server.adminToken);
    expect(again.status).toBe(400);
    expect(await theCall(server, "trace-rest-fail")).toMatchObject({ method: LOCK, protocol: "rest", code: "failed_precondition" });

    const anon = await rest("trace-rest-anon");
    expect(anon.status).toBe(401);
    expect(await theCall(server, "trace-rest-anon")).toMatchObject({ method: LOCK, protocol: "rest", code: "unauthenticated" });

    const generated = await rest(undefined, server.adminToken);
    const id = generated.headers.get("x-request-id");
    expect(id).toMatch(UUID);
    expect(await theCall(server, id!)).toMatchObject({ method: LOCK, protocol: "rest", code: "failed_precondition" });
  });

  it("logs a malformed protobuf body as invalid_argument", async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const res = await fetch(`${server.baseUrl}/${LOCK}`, {
      method: "POST",
      headers: {
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        authorization: `Bearer ${server.adminToken}`,
        "x-request-id": "trace-malformed",
      },
      body: garbage,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
    expect(await theCall(server, "trace-malformed")).toMatchObject({ method: LOCK, protocol: "connect", code: "invalid_argument" });
  });

  it("logs a malformed gRPC frame as invalid_argument", async () => {
    const payload = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, payload.length]), payload]);
    const res = await fetch(`${server.baseUrl}/${LOCK}`, {
      method: "POST",
      headers: {
        "content-type": "application/grpc-web+proto",
        "x-grpc-web": "1",
        authorization: `Bearer ${server.adminToken}`,
        "x-request-id": "trace-malformed-web",
      },
      body: frame,
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(await theCall(server, "trace-malformed-web")).toMatchObject({ method: LOCK, protocol: "grpc-web", code: "invalid_argument" });
  });

  it("ignores a request id that is not a plain token and generates one instead", async () => {
    const client = userClient("connect-json", server.baseUrl, server.adminToken);
    const userId = await addHuman(client);
    const { echoed } = await withRequestId("bad id\twith spaces", (o) => client.lockUser({ userId }, o));
    expect(echoed).toMatch(UUID);
    await theCall(server, echoed!);
  });
});

describe("secrets stay out of the output", () => {
  it("never prints tokens, the password or the email", async () => {
    const orgId = await addOrg(server);
    const machine = await addMachine(server, orgId, "ORG_OWNER");
    const email = `secret-${randomUUID()}@example.com`;
    for (const protocol of ["grpc", "grpc-web", "connect-json"] as const) {
      const admin = userClient(protocol, server.baseUrl, server.adminToken);
      const bot = userClient(protocol, server.baseUrl, machine.token);
      const res = await admin.addHumanUser({
        username: `secret-${protocol}-${randomUUID()}`,
        organization: { org: { case: "orgId", value: orgId } },
        profile: { givenName: "Sec", familyName: "Ret" },
        email: { email: protocol === "grpc" ? email : `${protocol}-${email}`, verification: { case: "isVerified", value: true } },
        passwordType: { case: "password", value: { password: PASSWORD } },
      });
      await bot.lockUser({ userId: res.userId });
      await expectCode(bot.lockUser({ userId: res.userId }), Code.FailedPrecondition);
      // A duplicate username/email and a bad password also fail and are logged.
      await admin
        .addHumanUser({
          username: "",
          profile: { givenName: "Sec", familyName: "Ret" },
          email: { email, verification: { case: "isVerified", value: true } },
          passwordType: { case: "password", value: { password: PASSWORD } },
        })
        .catch(() => undefined);
    }
    // Wrong tokens that resemble the real ones must not be echoed either.
    await expectCode(userClient("grpc", server.baseUrl, `${machine.token}x`).lockUser({ userId: "1" }), Code.Unauthenticated);
    await fetch(`${server.baseUrl}/v2/users/human`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${server.adminToken}` },
      body: JSON.stringify({ username: `rest-${randomUUID()}`, profile: { givenName: "A", familyName: "B" }, email: { email }, password: { password: PASSWORD } }),
    });
    await new Promise((r) => setTimeout(r, 200));

    const output = server.output();
    expect(callLines(server).length).toBeGreaterThan(0);
    for (const [what, secret] of [
      ["admin token", server.adminToken],
      ["machine token", machine.token],
      ["password", PASSWORD],
      ["email", email],
      ["email local part", email.split("@")[0]!],
    ] as const) {
      const offending = output.split("\n").filter((line) => line.includes(secret));
      expect(offending, `no output line may contain the ${what}`).toEqual([]);
    }
  });
});

describe("metrics", () => {
  it("counts exactly the calls made, by method, protocol and code, without a token", async () => {
    const fresh = await startServer();
    try {
      const expected: Record<string, Record<string, number>> = {};
      const count = (protocol: string, code: string) => {
        expected[protocol] ??= {};
        expected[protocol][code] = (expected[protocol][code] ?? 0) + 1;
      };
      for (const { client: protocol, logged } of CLIENT_PROTOCOLS) {
        const client = userClient(protocol, fresh.baseUrl, fresh.adminToken);
        for (let i = 0; i < 2; i++) {
          const userId = await addHuman(client);
          await client.lockUser({ userId });
          count(logged, "ok");
          if (protocol !== "grpc-web" || i === 0) {
            await expectCode(client.lockUser({ userId }), Code.FailedPrecondition);
            count(logged, "failed_precondition");
          }
        }
      }
      const userId = await addHuman(userClient("grpc", fresh.baseUrl, fresh.adminToken));
      const rest = await fetch(`${fresh.baseUrl}/v2/users/${userId}/lock`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${fresh.adminToken}` },
        body: "{}",
      });
      expect(rest.status).toBe(200);
      count("rest", "ok");
      await expectCode(userClient("connect-json", fresh.baseUrl).lockUser({ userId }), Code.Unauthenticated);
      count("connect", "unauthenticated");
      await new Promise((r) => setTimeout(r, 100));

      const res = await fetch(`${fresh.baseUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toContain("# TYPE rpc_calls_total counter");
      expect(text).toContain("# TYPE rpc_call_duration_seconds histogram");
      const samples = parseProm(text);

      let total = 0;
      for (const protocol of ["grpc", "grpc-web", "connect", "rest"]) {
        for (const code of ["ok", "failed_precondition", "unauthenticated", "invalid_argument"]) {
          const want = expected[protocol]?.[code] ?? 0;
          total += want;
          expect(sample(samples, "rpc_calls_total", { method: LOCK, protocol, code }), `${protocol} ${code}`).toBe(want);
        }
      }
      expect(total).toBe(13);
      expect(sample(samples, "rpc_calls_total", { method: LOCK })).toBe(total);
      expect(sample(samples, "rpc_call_duration_seconds_count", { method: LOCK })).toBe(total);
      expect(sample(samples, "rpc_call_duration_seconds_bucket", { method: LOCK, le: "+Inf" })).toBe(total);
      expect(sample(samples, "rpc_call_duration_seconds_sum", { method: LOCK })).toBeGreaterThan(0);
      // One AddHumanUser per user created above, all ok.
      expect(sample(samples, "rpc_calls_total", { method: "zitadel.user.v2.UserService/AddHumanUser", code: "ok" })).toBe(7);

      const names = new Set(samples.map((s) => s.name));
      expect(names.has("process_cpu_user_seconds_total") || names.has("nodejs_heap_size_total_bytes")).toBe(true);

      // The log agrees with the counter.
      expect(callLines(fresh).filter((line) => line.method === LOCK)).toHaveLength(total);
      // Scraping is not itself a call.
      expect(callLines(fresh).some((line) => String(line.method ?? "").includes("metrics"))).toBe(false);
    } finally {
      await fresh.stop();
    }
  });
});

describe("group-commit metrics", () => {
  const commits = async () => {
    const samples = parseProm(await (await fetch(`${server.baseUrl}/metrics`)).text());
    return { present: samples.some((s) => s.name === "store_commits"), transactions: sample(samples, "store_commits", { what: "transactions" }), writes: sample(samples, "store_commits", { what: "writes" }) };
  };

  it("counts each transaction and the writes it held on SQLite, and is absent on PostgreSQL", async () => {
    const client = userClient("grpc", server.baseUrl, server.adminToken);
    const userId = await addHuman(client);
    const before = await commits();
    expect(before.present).toBe(!SERVERS_ON_POSTGRES);
    if (SERVERS_ON_POSTGRES) return;
    await client.lockUser({ userId });
    // A refused write commits nothing.
    await expectCode(client.lockUser({ userId }), Code.FailedPrecondition);
    const after = await commits();
    expect({ transactions: after.transactions - before.transactions, writes: after.writes - before.writes }).toEqual({ transactions: 1, writes: 1 });
    // Writes that arrive in one turn share a transaction.
    const users = await Promise.all(Array.from({ length: 8 }, () => addHuman(client)));
    const beforeMany = await commits();
    await Promise.all(users.map((id) => client.lockUser({ userId: id })));
    const afterMany = await commits();
    expect(afterMany.writes - beforeMany.writes).toBe(8);
    expect(afterMany.transactions - beforeMany.transactions).toBeGreaterThanOrEqual(1);
    expect(afterMany.transactions - beforeMany.transactions).toBeLessThanOrEqual(8);
  });
});

/** Spawns the server the way test/support/server.ts does, but without waiting for the info-level "listening" line. */
async function spawnServer(logLevel: string) {
  const dataDir = newDataDir();
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: join(dataDir, "zitadel.db"),
    ADMIN_TOKEN_FILE: join(dataDir, "admin.pat"),
    LOG_LEVEL: logLevel,
  };
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, port, baseUrl: `http://127.0.0.1:${port}`, adminTokenFile: env.ADMIN_TOKEN_FILE, output: () => output, exited };
}

describe("LOG_LEVEL", () => {
  it("prints no call lines at warn", async () => {
    const quiet = await spawnServer("warn");
    try {
      // Ready once /healthz answers (there is no "listening" line at warn).
      const deadline = Date.now() + 20_000;
      let up = false;
      while (!up && Date.now() < deadline && quiet.child.exitCode === null) {
        up = await fetch(`${quiet.baseUrl}/healthz`).then((r) => r.ok, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      expect(up, `server did not come up:\n${quiet.output()}`).toBe(true);
      const adminToken = readFileSync(quiet.adminTokenFile, "utf8").trim();
      for (const { client: protocol } of CLIENT_PROTOCOLS) {
        const client = userClient(protocol, quiet.baseUrl, adminToken);
        const userId = await addHuman(client);
        await client.lockUser({ userId });
        await expectCode(client.lockUser({ userId }), Code.FailedPrecondition);
      }
      await new Promise((r) => setTimeout(r, 200));
      // The calls did happen: they are counted.
      const samples = parseProm(await (await fetch(`${quiet.baseUrl}/metrics`)).text());
      expect(sample(samples, "rpc_calls_total", { method: LOCK })).toBe(6);
      const lines = jsonLines(quiet.output());
      expect(lines.filter((line) => line.msg === "call")).toEqual([]);
      expect(quiet.output()).not.toContain('"msg":"call"');
      // Nothing below warn is printed at all.
      expect(lines.filter((line) => line.level === "info" || line.level === "debug" || line.level === "trace")).toEqual([]);
    } finally {
      quiet.child.kill("SIGTERM");
      await quiet.exited;
    }
  });

  it("makes the server exit non-zero with a clear message when invalid", async () => {
    const bad = await spawnServer("loud");
    const code = await Promise.race([bad.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000))]);
    if (code === "timeout") bad.child.kill("SIGKILL");
    expect(code, `the server should have exited on its own:\n${bad.output()}`).not.toBe("timeout");
    expect(code).not.toBe(0);
    expect(bad.output()).toMatch(/LOG_LEVEL must be one of .*info/);
    expect(bad.output()).not.toContain('"msg":"listening"');
  });
});
