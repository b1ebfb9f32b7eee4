/**
 * HTTP/1.1 load (Connect JSON and REST) with autocannon's programmatic API, run as its own
 * process (`taskset -c 1 node --import tsx bench/load-http.ts CONFIG_JSON`). Bodies and paths
 * vary per request through setupRequest. Prints one JSON result line on stdout.
 *
 * lockunlock: each connection cycles [lock u, unlock u]; u is taken from one shared walk over
 * the users (connection c's cycle k gets the next user), so a user is touched again only after
 * all the others and the calls succeed. Latencies are autocannon's per-response times, kept
 * whole (not its percentile summary, which has no p95).
 */
import { readUserIds } from "./ids.js";
import { request } from "node:http";
import autocannon from "autocannon";

interface Config {
  url: string;
  token: string;
  idsFile: string;
  protocol: "connect" | "rest";
  op: "noop" | "lockunlock" | "get" | "list";
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

const LIST_BODY = JSON.stringify({ query: { limit: 100 }, queries: [{ stateQuery: { state: "USER_STATE_ACTIVE" } }] });

let walk = 0;
let noopNext = 0;
const locked = new Set<string>();
let requests: autocannon.Request[];
if (cfg.op === "lockunlock") {
  requests = [
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
} else if (cfg.op === "list") {
  const path = cfg.protocol === "connect" ? "/zitadel.user.v2.UserService/ListUsers" : "/v2/users";
  requests = [{ method: "POST", path, body: LIST_BODY, headers: json }] as autocannon.Request[];
} else {
  const op = cfg.op;
  requests = [
    {
      setupRequest: (req: Req) => ({ ...req, ...target(op, ids.at(op === "get" ? Math.floor(Math.random() * N) : noopNext++ % N)) }),
    },
  ] as unknown as autocannon.Request[];
}

const latencies: number[] = [];
const statuses: Record<string, number> = {};
const instance = autocannon({
  url: cfg.url,
  connections: cfg.connections,
  pipelining: 1,
  duration: cfg.durationS,
  overallRate: cfg.overallRate,
  requests,
  timeout: 30,
});
instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  if (statusCode === 200) latencies.push(responseTime);
});
const result = await new Promise<autocannon.Result>((done, fail) => instance.once("done", done).once("error", fail));

// Clean up: unlock whatever a connection left locked when the run stopped (not measured).
async function unlock(id: string): Promise<void> {
  const t = target("unlock", id);
  await new Promise<void>((done) => {
    const req = request(new URL(t.path!, cfg.url), { method: "POST", headers: t.headers, agent: false }, (res) => {
      res.resume();
      res.on("end", done);
    });
    req.on("error", () => done());
    req.end(t.body);
  });
}
const left = [...locked];
for (let i = 0; i < left.length; i += 16) await Promise.all(left.slice(i, i + 16).map(unlock));

const ok = statuses["200"] ?? 0;
const elapsedS = result.duration;
// Exit only once the (large) line is flushed to the pipe.
process.stdout.write(
  `${JSON.stringify({
    ok,
    errors: result.errors + result.timeouts + (result.non2xx ?? 0),
    statuses,
    elapsedS,
    rps: ok / elapsedS,
    autocannon: { requestsAverage: result.requests.average, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts },
    latencies,
    unlockedAfter: left.length,
  })}\n`,
  () => process.exit(0),
);
