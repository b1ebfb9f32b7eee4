/**
 * HTTP/1.1 load (Connect JSON and REST), run as its own process (`taskset -c 1 node --import
 * tsx bench/load-http.ts CONFIG_JSON`). Prints one JSON result line on stdout.
 *
 * Closed loop (no `overallRate`): autocannon's programmatic API; bodies and paths vary per
 * request through setupRequest. Fixed rate (`overallRate`): node:http over `connections`
 * keep-alive sockets on bench/open-loop.ts's schedule. Not autocannon's overallRate: that lets
 * each connection send its share of a second back to back and then wait for the next second,
 * so half the calls queue behind a burst at full speed (p50 ~25 ms at half the maximum rate).
 *
 * lockunlock, closed loop: each connection cycles [lock u, unlock u]; u is taken from one shared
 * walk over the users (connection c's cycle k gets the next user), so a user is touched again
 * only after all the others and the calls succeed; fixed rate: bench/open-loop.ts's windows.
 * Latencies are every answer's own time (autocannon's per-response times in the closed loop),
 * kept whole: autocannon's percentile summary has no p95.
 */
import { historyRequest, LIST_USER_EVENTS, type HistoryOp } from "./history-calls.js";
import { readUserIds } from "./ids.js";
import { Agent, request } from "node:http";
import autocannon from "autocannon";
import { atFixedRate, cpuCores, lockUnlockAt } from "./open-loop.js";

interface Config {
  url: string;
  token: string;
  idsFile: string;
  protocol: "connect" | "rest";
  op: "noop" | "lockunlock" | "get" | "list" | HistoryOp;
  connections: number;
  durationS: number;
  overallRate?: number;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const ids = readUserIds(cfg.idsFile);
const N = ids.count;

const json = { "content-type": "application/json", authorization: `Bearer ${cfg.token}` };
type Req = { method?: string; path?: string; body?: string; headers?: Record<string, string> };

function target(op: "noop" | "lock" | "unlock" | "get", id: string): Req {
  if (cfg.protocol === "connect") {
    const path = {
      noop: "/zus.bench.v1.BenchService/Noop",
      lock: "/zitadel.user.v2.UserService/LockUser",
      unlock: "/zitadel.user.v2.UserService/UnlockUser",
      get: "/zitadel.user.v2.UserService/GetUserByID",
    }[op];
    return { method: "POST", path, body: `{"userId":"${id}"}`, headers: json };
  }
  if (op === "noop") return { method: "POST", path: "/bench/noop", body: `{"userId":"${id}"}`, headers: json };
  if (op === "get") return { method: "GET", path: `/v2/users/${id}`, headers: { authorization: json.authorization } };
  return { method: "POST", path: `/v2/users/${id}/${op}`, body: "{}", headers: json };
}

const isHistory = cfg.op === "history" || cfg.op === "historyNext";
const page = isHistory ? await historyRequest(cfg.op as HistoryOp, cfg.url, cfg.token, ids.at(0)) : undefined;
/** A ListUserEvents call on user `id`: Connect JSON's POST, or REST's GET with the page in the query. */
function historyTarget(id: string): Req {
  const { pageSize, pageToken } = page!;
  if (cfg.protocol === "connect") return { method: "POST", path: LIST_USER_EVENTS, body: JSON.stringify({ userId: id, pageSize, pageToken }), headers: json };
  const query = `pageSize=${pageSize}${pageToken ? `&pageToken=${pageToken}` : ""}`;
  return { method: "GET", path: `/zus/v1/users/${id}/events?${query}`, headers: { authorization: json.authorization } };
}

const LIST_BODY = JSON.stringify({ query: { limit: 100 }, queries: [{ stateQuery: { state: "USER_STATE_ACTIVE" } }] });
const listTarget = (): Req => ({
  method: "POST",
  path: cfg.protocol === "connect" ? "/zitadel.user.v2.UserService/ListUsers" : "/v2/users",
  body: LIST_BODY,
  headers: json,
});

const locked = new Set<string>();

/** The user of call k for the ops that need no order: GetUserByID and the history pick at random. */
const userOf = (op: "noop" | "get" | HistoryOp, k: number) => ids.at(op === "noop" ? k % N : Math.floor(Math.random() * N));
/** Call k of a noop, get or history load. */
const callOf = (op: "noop" | "get" | HistoryOp, k: number) => (op === "noop" || op === "get" ? target(op, userOf(op, k)) : historyTarget(userOf(op, k)));

/** What each autocannon connection sends in the closed loop. */
function closedLoopRequests(): autocannon.Request[] {
  let walk = 0;
  let noopNext = 0;
  if (cfg.op === "lockunlock") {
    return [
      {
        setupRequest: (req: Req, ctx: Record<string, unknown>) => {
          const id = ids.at(walk++ % N);
          ctx.id = id;
          locked.add(id); // until its unlock answers
          return { ...req, ...target("lock", id) };
        },
      },
      {
        setupRequest: (req: Req, ctx: Record<string, unknown>) => ({ ...req, ...target("unlock", ctx.id as string) }),
        onResponse: (status: number, _body: string, ctx: Record<string, unknown>) => {
          if (status === 200) locked.delete(ctx.id as string);
        },
      },
    ] as unknown as autocannon.Request[];
  }
  if (cfg.op === "list") return [listTarget()] as autocannon.Request[];
  const op = cfg.op;
  return [
    {
      setupRequest: (req: Req) => ({ ...req, ...callOf(op, noopNext++) }),
    },
  ] as unknown as autocannon.Request[];
}

const latencies: number[] = [];
const statuses: Record<string, number> = {};
const agent = new Agent({ keepAlive: true, maxSockets: cfg.connections });

/** One call; resolves with the HTTP status (0 when the connection failed). */
function send(t: Req): Promise<number> {
  return new Promise((done) => {
    const req = request(new URL(t.path!, cfg.url), { method: t.method, headers: t.headers, agent }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode ?? 0));
    });
    req.on("error", () => done(0));
    req.end(t.body);
  });
}

async function timed(t: Req): Promise<number> {
  const started = performance.now();
  const status = await send(t);
  statuses[status] = (statuses[status] ?? 0) + 1;
  if (status === 200) latencies.push(performance.now() - started);
  return status;
}

let elapsedS: number;
let loopDelayP99Ms: number | undefined;
const cpuAtStart = process.cpuUsage();
let autocannonSummary: object | undefined;
/** Connections that failed or timed out without an HTTP status (autocannon counts them apart). */
let transportErrors = 0;
if (cfg.overallRate) {
  ({ elapsedS, loopDelayP99Ms } = await atFixedRate(cfg.overallRate, cfg.durationS, async (k) => {
    if (cfg.op !== "lockunlock") return timed(cfg.op === "list" ? listTarget() : callOf(cfg.op, k));
    const { unlock, user } = lockUnlockAt(k, N);
    const id = ids.at(user);
    if (!unlock) locked.add(id); // until its unlock answers
    const status = await timed(target(unlock ? "unlock" : "lock", id));
    if (unlock && status === 200) locked.delete(id);
    return status;
  }));
} else {
  const instance = autocannon({
    url: cfg.url,
    connections: cfg.connections,
    pipelining: 1,
    duration: cfg.durationS,
    requests: closedLoopRequests(),
    timeout: 30,
  });
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode === 200) latencies.push(responseTime);
  });
  const result = await new Promise<autocannon.Result>((done, fail) => instance.once("done", done).once("error", fail));
  elapsedS = result.duration;
  transportErrors = result.errors + result.timeouts;
  autocannonSummary = { requestsAverage: result.requests.average, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts };
}

// Clean up: unlock whatever a connection left locked when the run stopped (not measured).
const left = [...locked];
for (let i = 0; i < left.length; i += 16) await Promise.all(left.slice(i, i + 16).map((id) => send(target("unlock", id))));
agent.destroy();

const ok = statuses["200"] ?? 0;
// Exit only once the (large) line is flushed to the pipe.
process.stdout.write(
  `${JSON.stringify({
    ok,
    errors: transportErrors + Object.entries(statuses).reduce((sum, [status, n]) => (status === "200" ? sum : sum + n), 0),
    statuses,
    elapsedS,
    rps: ok / elapsedS,
    cpuCores: cpuCores(cpuAtStart, elapsedS),
    autocannon: autocannonSummary,
    latencies,
    loopDelayP99Ms,
    unlockedAfter: left.length,
  })}\n`,
  () => process.exit(0),
);
