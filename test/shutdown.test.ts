/**
 * Graceful shutdown: SIGTERM in the middle of traffic loses no acknowledged write, gives no
 * garbage answers, ends streams, does not wait on idle connections, and reports not-ready; and
 * from the moment the server says it listens, a SIGTERM drains it rather than ending it.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient, type Protocol, type UserClient } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { freePort, newDataDir, ROOT, SERVER_ENTRY, startServer, type TestServer } from "./support/server.js";
import { serverEnv } from "./support/server-env.js";

const running: TestServer[] = [];
async function start(options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TestServer> {
  const server = await startServer(options);
  running.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop("SIGKILL")));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends the signal and measures how long until the process exits. */
async function timedStop(server: TestServer, signal: NodeJS.Signals = "SIGTERM") {
  const started = Date.now();
  const code = await server.stop(signal);
  return { code, elapsedMs: Date.now() - started };
}

/** A clean way for a call to fail when the server goes away: Unavailable, Canceled or a connection error. */
const CLEAN_CODES = new Set([Code.Unavailable, Code.Canceled]);
const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|GOAWAY|closed|NGHTTP2|stream was destroyed|other side closed/i;
function describeFailure(reason: unknown): { clean: boolean; text: string } {
  if (reason instanceof ConnectError) {
    const text = `${Code[reason.code]}: ${reason.message}`;
    const transportLevel = [Code.Aborted, Code.Internal, Code.Unknown].includes(reason.code) && CONNECTION_ERROR.test(reason.message);
    return { clean: CLEAN_CODES.has(reason.code) || transportLevel, text };
  }
  const text = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  return { clean: CONNECTION_ERROR.test(text), text };
}

interface Ack {
  sequence: number;
  type: "user.locked" | "user.unlocked";
}
interface LoopResult {
  userId: string;
  protocol: Protocol;
  acks: Ack[];
  ackedAfterSignal: number;
  failure?: { clean: boolean; text: string };
  garbage: string[];
}

interface EventRow {
  sequence: number;
  type: string;
}

function readDb<T>(file: string, query: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

describe("SIGTERM during a stream of LockUser/UnlockUser calls", () => {
  it("exits 0 within the grace period, answers cleanly, and loses no acknowledged write", { timeout: 90_000 }, async () => {
    const GRACE = 5000;
    const server = await start({ env: { SHUTDOWN_GRACE_MS: String(GRACE) } });
    const loops: { protocol: Protocol; client: UserClient; userId: string }[] = [];
    for (const protocol of ["grpc", "grpc", "grpc", "connect-json", "connect-json", "connect-json"] as Protocol[]) {
      const client = userClient(protocol, server.baseUrl, server.adminToken);
      loops.push({ protocol, client, userId: await addHuman(client) });
    }

    let signalSentAt = Number.POSITIVE_INFINITY;
    const progress: LoopResult[] = [];
    const runLoop = async ({ protocol, client, userId }: (typeof loops)[number]): Promise<LoopResult> => {
      const result: LoopResult = { userId, protocol, acks: [], ackedAfterSignal: 0, garbage: [] };
      progress.push(result);
      let expected = 2;
      for (let i = 0; ; i++) {
        const lock = i % 2 === 0;
        try {
          const res = lock
            ? await client.lockUser({ userId }, { timeoutMs: 15_000 })
            : await client.unlockUser({ userId }, { timeoutMs: 15_000 });
          const sequence = Number(res.details?.sequence ?? -1);
          if (sequence !== expected) result.garbage.push(`${lock ? "lock" : "unlock"} answered sequence ${sequence}, expected ${expected}`);
          if (!res.details?.changeDate || !/^\d{18}$/.test(res.details.resourceOwner)) result.garbage.push(`incomplete details ${JSON.stringify(res.details)}`);
          result.acks.push({ sequence, type: lock ? "user.locked" : "user.unlocked" });
          if (Date.now() >= signalSentAt) result.ackedAfterSignal++;
          expected++;
        } catch (reason) {
          result.failure = describeFailure(reason);
          return result;
        }
      }
    };

    const results = Promise.all(loops.map(runLoop));
    // Let traffic flow until every loop has made progress, then signal in the middle of it.
    const waitUntil = Date.now() + 15_000;
    while (Date.now() < waitUntil && !(progress.length === loops.length && progress.every((r) => r.acks.length >= 8))) await sleep(20);
    signalSentAt = Date.now();
    const { code, elapsedMs } = await timedStop(server);
    const done = await Promise.race([results, sleep(20_000).then(() => "hung" as const)]);
    expect(done, "every loop ends once the server is gone").not.toBe("hung");
    const loopResults = done as LoopResult[];

    expect(code).toBe(0);
    expect(elapsedMs, "exit within the grace period").toBeLessThan(GRACE);
    expect(server.output()).toContain('"msg":"stopped"');

    for (const r of loopResults) {
      expect(r.acks.length, `${r.protocol} loop made progress before the signal`).toBeGreaterThanOrEqual(8);
      expect(r.garbage, `${r.protocol} loop got garbage answers`).toEqual([]);
      expect(r.failure, `${r.protocol} loop ends with a failure once the server is gone`).toBeDefined();
      expect(r.failure!.clean, `${r.protocol} loop failed uncleanly: ${r.failure!.text}`).toBe(true);
    }

    // Every acknowledged write is in the event log; the read model agrees with the log.
    const finalStates = new Map<string, string>();
    readDb(server.databaseFile, (db) => {
      for (const r of loopResults) {
        const events = db.prepare("select sequence, type from events where aggregate_id = ? order by sequence").all(r.userId) as EventRow[];
        expect(events.map((e) => e.sequence), "gapless event log").toEqual(events.map((_, i) => i + 1));
        expect(events[0]!.type).toBe("user.human.added");
        const bySequence = new Map(events.map((e) => [e.sequence, e.type]));
        for (const ack of r.acks) expect(bySequence.get(ack.sequence), `acknowledged ${ack.type} #${ack.sequence} of ${r.userId}`).toBe(ack.type);
        // Nothing was cut: the server answered every write it committed (the grace period is far from over).
        expect(events.length - 1, `events of ${r.protocol} user beyond the added event = acknowledged writes`).toBe(r.acks.length);
        const last = events[events.length - 1]!;
        const row = db.prepare("select state, sequence, locked from users where id = ?").get(r.userId) as { state: string; sequence: number; locked: number };
        expect(row.sequence).toBe(last.sequence);
        expect(row.state).toBe(last.type === "user.locked" ? "locked" : "active");
        expect(row.locked).toBe(last.type === "user.locked" ? 1 : 0);
        finalStates.set(r.userId, row.state);
        const integrity = db.prepare("pragma integrity_check").get() as { integrity_check: string };
        expect(integrity.integrity_check).toBe("ok");
      }
    });

    // A restart on the same data directory serves exactly those states.
    await server.restart();
    const client = userClient("grpc", server.baseUrl, server.adminToken);
    for (const r of loopResults) {
      const read = await client.getUserByID({ userId: r.userId });
      const state = finalStates.get(r.userId);
      expect(read.user!.state).toBe(state === "locked" ? UserState.LOCKED : UserState.ACTIVE);
      const maxSequence = readDb(server.databaseFile, (db) =>
        (db.prepare("select max(sequence) as m from events where aggregate_id = ?").get(r.userId) as { m: number }).m,
      );
      expect(read.details!.sequence).toBe(BigInt(maxSequence));
    }
  });
});

describe("in-flight calls and streams at SIGTERM", () => {
  it("slow in-flight AddHumanUser calls (scrypt) finish and are persisted", { timeout: 60_000 }, async () => {
    const GRACE = 10_000;
    const server = await start({ env: { SHUTDOWN_GRACE_MS: String(GRACE) } });
    const client = userClient("grpc", server.baseUrl, server.adminToken);
    await addHuman(client); // warm up the connection and the code paths
    let signalAt = Number.POSITIVE_INFINITY;
    const finishedAt: number[] = [];
    const calls = Array.from({ length: 16 }, () =>
      addHuman(client).then((userId) => {
        finishedAt.push(Date.now());
        return userId;
      }),
    );
    // All 16 requests went out on one HTTP/2 connection; when the first answer is back the rest
    // are queued on the 4 libuv threads hashing passwords.
    await Promise.race(calls);
    signalAt = Date.now();
    const stopped = timedStop(server);
    const settled = await Promise.allSettled(calls);
    const { code, elapsedMs } = await stopped;

    const failures = settled.filter((s) => s.status === "rejected").map((s) => describeFailure((s as PromiseRejectedResult).reason).text);
    expect(failures, "in-flight calls are allowed to finish").toEqual([]);
    expect(finishedAt.filter((t) => t > signalAt).length, "some calls were still in flight at SIGTERM").toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(GRACE);

    const ids = settled.map((s) => (s as PromiseFulfilledResult<string>).value);
    readDb(server.databaseFile, (db) => {
      for (const id of ids) {
        const row = db.prepare("select state, sequence from users where id = ?").get(id) as { state: string; sequence: number } | undefined;
        expect(row, `acknowledged user ${id} persisted`).toEqual({ state: "active", sequence: 1 });
        const events = db.prepare("select sequence, type from events where aggregate_id = ?").all(id);
        expect(events).toEqual([{ sequence: 1, type: "user.human.added" }]);
      }
    });
  });

  it("an open Health.Watch stream ends at SIGTERM and the process exits within SHUTDOWN_GRACE_MS + a margin", { timeout: 60_000 }, async () => {
    const GRACE = 3000;
    const MARGIN = 1500;
    const server = await start({ env: { SHUTDOWN_GRACE_MS: String(GRACE) } });
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    const seen: Status[] = [];
    let firstMessage!: () => void;
    const gotFirst = new Promise<void>((resolve) => (firstMessage = resolve));
    const watching = (async () => {
      try {
        for await (const res of health.watch({ service: "" })) {
          seen.push(res.status);
          firstMessage();
        }
        return { ended: "ok" as const, at: Date.now() };
      } catch (reason) {
        return { ended: "error" as const, at: Date.now(), failure: describeFailure(reason) };
      }
    })();
    await gotFirst;
    expect(seen).toEqual([Status.SERVING]);

    const signalAt = Date.now();
    const { code, elapsedMs } = await timedStop(server);
    const outcome = await Promise.race([watching, sleep(GRACE + 5000).then(() => "hung" as const)]);
    expect(outcome, "the Watch stream must end, not hang").not.toBe("hung");
    const ended = outcome as Exclude<typeof outcome, "hung">;
    if (ended.ended === "error") expect(ended.failure!.clean, ended.failure!.text).toBe(true);
    expect(ended.at - signalAt).toBeLessThan(GRACE + MARGIN);
    // The last word before the stream ends is NOT_SERVING.
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(GRACE + MARGIN);
  });

  it("with SHUTDOWN_GRACE_MS=200 the process exits quickly despite an idle keep-alive HTTP/1.1 connection", { timeout: 60_000 }, async () => {
    const server = await start({ env: { SHUTDOWN_GRACE_MS: "200" } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = () =>
        new Promise<{ status: number; socket: net.Socket }>((resolve, reject) => {
          const req = http.get({ host: "127.0.0.1", port: server.port, path: "/healthz", agent }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode!, socket: res.socket }));
          });
          req.on("error", reject);
        });
      const first = await get();
      expect(first.status).toBe(200);
      expect(agent.freeSockets[Object.keys(agent.freeSockets)[0]!]?.length, "an idle keep-alive socket is held").toBe(1);
      // An idle HTTP/2 session too.
      const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
      expect((await health.check({ service: "" })).status).toBe(Status.SERVING);

      const { code, elapsedMs } = await timedStop(server);
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(200 + 1500);
    } finally {
      agent.destroy();
    }
  });

  it("idle keep-alive connections do not hold shutdown for the whole (default 10 s) grace period", { timeout: 60_000 }, async () => {
    const server = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      const statuses = await Promise.all(
        [0, 1].map(
          () =>
            new Promise<number>((resolve, reject) => {
              http
                .get({ host: "127.0.0.1", port: server.port, path: "/healthz", agent }, (res) => {
                  res.resume();
                  res.on("end", () => resolve(res.statusCode!));
                })
                .on("error", reject);
            }),
        ),
      );
      expect(statuses).toEqual([200, 200]);
      const { code, elapsedMs } = await timedStop(server);
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(2000);
    } finally {
      agent.destroy();
    }
  });

  it("a stalled request is cut at the grace period; meanwhile /readyz answers 503 or refuses", { timeout: 60_000 }, async () => {
    const GRACE = 2500;
    const server = await start({ env: { SHUTDOWN_GRACE_MS: String(GRACE) } });

    // A request whose body never completes keeps one call in flight through the drain.
    const stalled = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve) => stalled.once("connect", () => resolve()));
    stalled.on("error", () => undefined);
    stalled.write(
      "POST /zitadel.user.v2.UserService/GetUserByID HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
        `authorization: Bearer ${server.adminToken}\r\ncontent-length: 100\r\n\r\n{"userId":`,
    );
    const stalledClosed = new Promise<number>((resolve) => stalled.once("close", () => resolve(Date.now())));

    // Connected before SIGTERM, but its request is only sent during the drain.
    const probe = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve) => probe.once("connect", () => resolve()));
    let probeAnswer = "";
    probe.on("data", (chunk) => (probeAnswer += chunk));
    probe.on("error", () => undefined);
    const probeDone = new Promise<void>((resolve) => probe.once("close", () => resolve()));

    await sleep(200); // the stalled request has reached the handler
    const signalAt = Date.now();
    const stopped = timedStop(server);
    await sleep(300);
    expect(server.output(), "shutdown has begun").toContain('"msg":"shutting down"');

    // A new connection during the drain: refused, or answered 503.
    const fresh = await new Promise<string>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: server.port, path: "/readyz", agent: false }, (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
      req.on("error", (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
    });
    expect(fresh).toMatch(/^(status 503|error ECONNREFUSED|error ECONNRESET)$/);

    // An already-open connection during the drain: 503, never 200.
    probe.write("GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    await Promise.race([probeDone, sleep(GRACE + 3000)]);
    if (probeAnswer !== "") expect(probeAnswer).toMatch(/^HTTP\/1\.1 503 /);
    expect(probeAnswer).not.toMatch(/^HTTP\/1\.1 200 /);

    const { code, elapsedMs } = await stopped;
    expect(code).toBe(0);
    // The stalled call held the drain open until the grace period ran out, not much longer.
    expect(elapsedMs).toBeGreaterThanOrEqual(GRACE - 100);
    expect(elapsedMs).toBeLessThan(GRACE + 1500);
    const closedAt = await Promise.race([stalledClosed, sleep(2000).then(() => Number.NaN)]);
    expect(closedAt - signalAt).toBeLessThan(GRACE + 1500);
  });
});

describe("a SIGTERM at the first moment the port is open", () => {
  it("is already handled when the server says it listens: it drains, logs stopped and exits 0", async () => {
    const dataDir = newDataDir();
    const env = { ...serverEnv(dataDir, await freePort()), WORKERS: "1", NODE_OPTIONS: `--import ${join(ROOT, "test/support/signal-at-listening.mjs")}` };
    const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
    const messages = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.slice(messages.indexOf("listening"))).toEqual(["listening", "shutting down", "stopped"]);
  });
});
