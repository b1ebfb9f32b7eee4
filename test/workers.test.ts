/**
 * WORKERS=2: two server processes on one port and one SQLite file (primary.ts, serve.ts). Each
 * call here goes over a connection of its own, which the primary hands to the next worker, and
 * the call's log line (its x-request-id, and the pid of the worker that wrote it) tells which
 * worker served it.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport } from "./support/clients.js";
import { query } from "./support/db.js";
import { addMachine, addOrg } from "./support/fixtures.js";
import { commandLine, startServer, type TestServer } from "./support/server.js";

const WORKERS = { WORKERS: "2" };

interface Answer {
  status: number;
  body: { code?: string; [key: string]: unknown };
  /** The pid of the worker that served the call. */
  worker: number;
}

/** The log lines of the server's output that parse as JSON. */
function logLines(server: TestServer): Record<string, unknown>[] {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Waits for a log line that `test` accepts (a call is logged just after its answer is sent). */
async function logLine(server: TestServer, test: (line: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 500; i++) {
    const line = logLines(server).find(test);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no log line: ${what}\n${server.output()}`);
}

const workerOfCall = async (server: TestServer, requestId: string): Promise<number> =>
  Number((await logLine(server, (line) => line.msg === "call" && line.requestId === requestId, `call ${requestId}`)).worker);

/** A Connect JSON call of the user service on a connection of its own. */
function call(server: TestServer, method: string, body: object, token: string): Promise<Answer> {
  const requestId = randomUUID();
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: server.port,
        path: `/zitadel.user.v2.UserService/${method}`,
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-request-id": requestId },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.once("error", reject);
    req.end(JSON.stringify(body));
  }).then(async ({ status, text }) => ({ status, body: JSON.parse(text) as Answer["body"], worker: await workerOfCall(server, requestId) }));
}

/** The pids of the workers that said they listen, in order. */
const workersListening = (server: TestServer): number[] =>
  logLines(server)
    .filter((line) => line.msg === "worker listening")
    .map((line) => Number(line.worker));

/** The first two workers, once both have logged that they listen (the primary may say so first). */
async function firstWorkers(server: TestServer): Promise<number[]> {
  await logLine(server, () => workersListening(server).length >= 2, "two workers listening");
  return workersListening(server).slice(0, 2);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The watch hub's poll for commits made elsewhere: far longer than a watch here may wait for one. */
const WATCH_POLL_MS = 5000;
/** What a watcher may wait for an event the other worker committed: told through the cluster bus, not polled. */
const WAKE_BOUND_MS = 1000;

describe("WORKERS=2 on one SQLite file", () => {
  let server: TestServer;
  let orgId: string;
  beforeAll(async () => {
    server = await startServer({ env: { ...WORKERS, WATCH_HEARTBEAT_MS: "300", WATCH_POLL_MS: String(WATCH_POLL_MS) } });
    orgId = await addOrg(server);
  });
  afterAll(() => server?.stop());

  const addUser = async (): Promise<string> => {
    const added = await call(server, "AddHumanUser", { organization: { orgId }, username: randomUUID(), profile: { givenName: "W", familyName: "K" }, email: { email: "w@example.com" } }, server.adminToken);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    return added.body.userId as string;
  };

  it("serves from both workers, each call from one", async () => {
    const workers = await firstWorkers(server);
    const answers = await Promise.all(Array.from({ length: 4 }, () => call(server, "ListUsers", {}, server.adminToken)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.worker))).toEqual(new Set(workers));
  });

  it("50 concurrent LockUser calls on one user, spread over both workers: one success, 49 FailedPrecondition, one user.locked event", async () => {
    const userId = await addUser();
    const answers = await Promise.all(Array.from({ length: 50 }, () => call(server, "LockUser", { userId }, server.adminToken)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.body.code === "failed_precondition")).toHaveLength(49);
    expect(new Set(answers.map((a) => a.worker)).size).toBe(2);
    const [row] = await query<{ n: number }>(server, "select count(*) as n from events where aggregate_id = ? and type = 'user.locked'", [userId]);
    expect(Number(row!.n)).toBe(1);
  });

  it("a lock committed by one worker refuses the user's token on the other at its next request, though that worker had it in memory", async () => {
    const bot = await addMachine(server, orgId, "ORG_OWNER");
    const servedBeforeLock = new Set<number>();
    // Until both workers have authenticated the token (and keep its owner in memory).
    for (let i = 0; i < 20 && servedBeforeLock.size < 2; i++) {
      const answer = await call(server, "GetUserByID", { userId: bot.userId }, bot.token);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      servedBeforeLock.add(answer.worker);
    }
    expect(servedBeforeLock.size).toBe(2);

    const lock = await call(server, "LockUser", { userId: bot.userId }, server.adminToken);
    expect(lock.status, JSON.stringify(lock.body)).toBe(200);

    // Every call after the lock is refused, the first one the other worker serves included.
    const after: Answer[] = [];
    while (after.length < 20 && !after.some((a) => a.worker !== lock.worker)) {
      after.push(await call(server, "GetUserByID", { userId: bot.userId }, bot.token));
    }
    expect(after.some((a) => a.worker !== lock.worker)).toBe(true);
    expect(after.map((a) => a.body.code)).toEqual(after.map(() => "unauthenticated"));
  });

  it("a watch on one worker streams the commits the other worker makes, each at once and not at the next poll", async () => {
    const userId = await addUser();
    const watchId = randomUUID();
    const records = createClient(UserRecordService, transport("grpc", server.baseUrl, server.adminToken));
    const abort = new AbortController();
    /** Each event as it came, and when. */
    const received: { type: string; sequence: bigint; at: number }[] = [];
    let subscribed!: () => void;
    const open = new Promise<void>((resolve) => (subscribed = resolve));
    const watching = (async () => {
      try {
        for await (const message of records.watchUserEvents({ userId }, { signal: abort.signal, headers: { "x-request-id": watchId } })) {
          if (message.kind.case === "event") received.push({ type: message.kind.value.type, sequence: message.kind.value.sequence, at: performance.now() });
          subscribed();
        }
      } catch {
        // Ended by the abort below.
      }
    })();
    await open; // a heartbeat: the watch is subscribed

    /** Each commit, and how long after its answer the watch had its event. */
    const commits: (Answer & { waitedMs: number })[] = [];
    // Each awaited by the watch before the next; the primary hands the calls' connections to the
    // workers in turn, so about half are made on the worker that does not serve the watch.
    for (let i = 0; i < 6; i++) {
      const answer = await call(server, i % 2 ? "UnlockUser" : "LockUser", { userId }, server.adminToken);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const answeredAt = performance.now();
      while (received.length <= i && performance.now() - answeredAt < 2 * WATCH_POLL_MS) await new Promise((resolve) => setTimeout(resolve, 5));
      commits.push({ ...answer, waitedMs: received[i] ? received[i]!.at - answeredAt : Infinity });
    }
    abort.abort();
    await watching;

    expect(received.map((e) => [e.type, e.sequence])).toEqual(commits.map((_, i) => [i % 2 ? "user.unlocked" : "user.locked", BigInt(i + 2)]));
    // A streaming call is logged when it ends.
    const watchWorker = await workerOfCall(server, watchId);
    const elsewhere = commits.filter((c) => c.worker !== watchWorker);
    expect(elsewhere.length).toBeGreaterThanOrEqual(2);
    // The call's answer is awaited (its log line) before the clock starts, so the bound is generous.
    for (const commit of elsewhere) expect(commit.waitedMs).toBeLessThan(WAKE_BOUND_MS);
  });
});

describe("WORKERS=2: the processes", () => {
  it("the primary writes the admin token once, before forking; SIGTERM drains every worker and the process exits 0", async () => {
    const server = await startServer({ env: WORKERS });
    const firstStart = logLines(server).filter((line) => line.msg === "first start: created the first organization and an IAM_OWNER machine user");
    expect(firstStart).toHaveLength(1);
    expect(firstStart[0]!.primary).toBe(server.pid());
    expect(statSync(server.adminTokenFile).mode & 0o777).toBe(0o600);
    const [orgs] = await query<{ n: number }>(server, "select count(*) as n from organizations", []);
    expect(Number(orgs!.n)).toBe(1);

    const workers = await firstWorkers(server);
    expect(await server.stop("SIGTERM")).toBe(0);
    const stopped = logLines(server).filter((line) => line.msg === "stopped");
    // With the server's output: a worker missing here died without draining. Seen once in a CI run;
    // the likely cause, a SIGTERM between a worker's "worker listening" line and its handler, is
    // closed (serve.ts sets the handler first; test/shutdown.test.ts holds it).
    expect(new Set(stopped.map((line) => Number(line.worker ?? line.primary))), server.output()).toEqual(new Set([...workers, server.pid()]));
    expect(workers.filter(alive)).toEqual([]);
  });

  it("with a worker on every core, the workers run V8's collector on their main thread alone (--single-threaded-gc)", async () => {
    const server = await startServer({ env: WORKERS });
    try {
      const argvs = (await firstWorkers(server)).map(commandLine);
      const everyCore = 2 >= availableParallelism();
      for (const argv of argvs) expect(argv.includes("--single-threaded-gc"), argv.join(" ")).toBe(everyCore);
      expect(commandLine(server.pid())).not.toContain("--single-threaded-gc");
    } finally {
      await server.stop();
    }
  });

  it("a killed worker is replaced, and the port answers meanwhile and after", async () => {
    const server = await startServer({ env: WORKERS });
    try {
      const [killed, kept] = await firstWorkers(server);
      process.kill(killed!, "SIGKILL");
      const died = await logLine(server, (line) => line.msg === "worker died; replacing it", "worker died");
      expect(died).toMatchObject({ worker: killed, signal: "SIGKILL" });

      // Meanwhile the worker left answers every call.
      for (let i = 0; i < 3; i++) expect(await call(server, "ListUsers", {}, server.adminToken)).toMatchObject({ status: 200, worker: kept });

      const replaced = Number((await logLine(server, (line) => line.msg === "worker listening" && line.worker !== killed && line.worker !== kept, "a new worker")).worker);
      const servedBy = new Set<number>();
      for (let i = 0; i < 20 && !servedBy.has(replaced); i++) {
        const answer = await call(server, "ListUsers", {}, server.adminToken);
        expect(answer.status).toBe(200);
        servedBy.add(answer.worker);
      }
      expect(servedBy.has(replaced)).toBe(true);
      expect(servedBy.has(killed!)).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
