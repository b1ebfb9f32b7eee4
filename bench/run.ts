/**
 * The benchmark (issue 6): `npm run bench -- [options]`
 *
 *   --scenario ceiling|lockunlock|latency|scale|crowd|signin|bulk|watchers|history|delivery|workers|all  (comma-separated; default ceiling,lockunlock,latency;
 *                      signin is bench/sign-in.ts with its own defaults, `npm run bench:sign-in` for its options;
 *                      bulk is bench/bulk.ts: one BulkLockUsers of 1,000 users against 1,000 LockUser calls;
 *                      watchers is bench/watchers.ts: lock/unlock over gRPC with and without watchers;
 *                      delivery is bench/delivery.ts: lock/unlock with and without a push stream, a poll stream
 *                      and an Actions target attached, the delay to each, and a held-back backlog's drain;
 *                      history is bench/history.ts, with 1,000,000 users and 16 connections unless given;
 *                      workers is bench/workers.ts: WORKERS=2 against WORKERS=1, unpinned, loaded by wrk)
 *   --protocol grpc|connect|rest|all                     (comma-separated; default all)
 *   --users N          seeded users (default 1000, history 1000000; scale: the large size, e.g. 1000000)
 *   --duration S       seconds per measurement (default 10)
 *   --connections C    concurrent connections (HTTP/1.1) / streams (gRPC) (default 64, history 16)
 *   --backend sqlite|postgres   (postgres: TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test, fresh database)
 *   --warmup S         seconds of unmeasured load before each measurement series (default 2)
 *   --rounds R         ceiling and lock/unlock: R alternating measurements of each per protocol,
 *                      the median reported (default 3; a shared machine drifts within minutes)
 *   --rpc-path fast|stock|all  (comma-separated; default fast) the server's RPC_FAST_PATH: fast is `on`, stock is
 *                      `off` (every call through Connect-ES's stock handlers). With both, ceiling, lock/unlock and
 *                      latency run a server of each on its own database at once and interleave their rounds
 *                      (the order alternating), reported side by side with the ratio stock/fast; scale, crowd
 *                      and signin run once per path. Results of anything but fast alone go to files named
 *                      with the paths: bench/results/ceiling-sqlite-fast-stock.json, scale-sqlite-stock.json.
 *   --watchers N       watchers scenario: watchers of one user each (default 1000)
 *   --org-watchers N   watchers scenario: watchers of the whole organization too (default 0: each gets every event)
 *   --backlog N        delivery scenario: deliveries written to each receiver while it is held back (default 100000)
 *
 * Starts the server itself (`taskset -c 0 node dist/server.mjs` with npm start's Node flags, BENCH_NOOP=1) on a
 * fresh database, seeds users in bulk (bench/seed.ts), drives load from separate processes on
 * core 1 (bench/load-grpc.ts, bench/load-http.ts with autocannon, bench/load-crowd.ts, h2load);
 * for the latency figures also a bare Node server (bench/bare-server.ts) on core 0, their floor;
 * prints a table and writes bench/results/<scenario>-<backend>.json. Bounded in time (a hard
 * deadline kills everything), always stops the server, loopback only.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bulk } from "./bulk.js";
import { H2LOAD_HINT, h2loadPath, killLoad, runH2load, runNodeLoad, type H2loadResult } from "./load.js";
import { machine, pass, round, summarize, table, writeResult, type Latency } from "./report.js";
import { historyData, measureHistory, type HistoryMeasure } from "./history.js";
import { readInstance, seedPostgres, seedSqlite, type Instance, type SeedResult } from "./seed.js";
import { between, scrape, type ServerView } from "./server-metrics.js";
import { cpuSeconds, freePort, freshDatabase, memoryMiB, postgresCpu, postgresCpuSince, ROOT, startBareServer, startServer, type Backend, type Database, type RunningServer } from "./server.js";
import { watchers } from "./watchers.js";
import { delivery } from "./delivery.js";
import { LOADS as WORKERS_LOADS, PAIRS, sliceSeconds, workers } from "./workers.js";

const SCENARIOS = ["ceiling", "lockunlock", "latency", "scale", "crowd", "signin", "bulk", "watchers", "history", "delivery", "workers"] as const;
const PROTOCOLS = ["grpc", "connect", "rest"] as const;
const RPC_PATHS = ["fast", "stock"] as const;
type Scenario = (typeof SCENARIOS)[number];
type Protocol = (typeof PROTOCOLS)[number];
type RpcPath = (typeof RPC_PATHS)[number];
/** The server's setting for each path. */
const RPC_FAST_PATH: Record<RpcPath, string> = { fast: "on", stock: "off" };

function usage(msg: string): never {
  console.error(`bench: ${msg}\nusage: npm run bench -- [--scenario ${SCENARIOS.join("|")}|all] [--protocol grpc|connect|rest|all] [--users N] [--duration S] [--connections C] [--backend sqlite|postgres] [--warmup S] [--rounds R] [--rpc-path fast|stock|all] [--watchers N] [--org-watchers N] [--backlog N]`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      scenario: { type: "string", default: "ceiling,lockunlock,latency" },
      protocol: { type: "string", default: "all" },
      users: { type: "string" },
      duration: { type: "string", default: "10" },
      connections: { type: "string" },
      backend: { type: "string", default: "sqlite" },
      warmup: { type: "string", default: "2" },
      rounds: { type: "string", default: "3" },
      "rpc-path": { type: "string", default: "fast" },
      watchers: { type: "string", default: "1000" },
      "org-watchers": { type: "string", default: "0" },
      backlog: { type: "string", default: "100000" },
    },
  }).values;
} catch (err) {
  usage((err as Error).message);
}
const list = <T extends string>(raw: string, all: readonly T[], what: string): T[] => {
  const items = raw.split(",").map((s) => s.trim());
  if (items.includes("all")) return [...all];
  for (const i of items) if (!all.includes(i as T)) usage(`unknown ${what} "${i}"`);
  return all.filter((a) => items.includes(a));
};
const num = (name: string, raw: string, min: number, max: number) => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) usage(`--${name} must be a number in [${min}, ${max}], got "${raw}"`);
  return n;
};
const scenarios = list<Scenario>(parsed.scenario!, SCENARIOS, "scenario");
const protocols = list<Protocol>(parsed.protocol!, PROTOCOLS, "protocol");
const paths = list<RpcPath>(parsed["rpc-path"]!, RPC_PATHS, "rpc path");
/** Names the path in logs, titles and file names unless the run is the default one, the fast path alone. */
const namesPaths = (among: readonly RpcPath[]) => !(among.length === 1 && among[0] === "fast");
const SHOW_PATH = namesPaths(paths);
const tag = (path: RpcPath) => (SHOW_PATH ? ` [${path}]` : "");
/** The suffix of a results file that holds the measurements of `among`. */
const variant = (among: readonly RpcPath[]) => (namesPaths(among) ? `-${among.join("-")}` : "");
const USERS = Math.floor(num("users", parsed.users ?? "1000", 1, 10_000_000));
const DURATION = num("duration", parsed.duration!, 1, 600);
const CONNECTIONS = Math.floor(num("connections", parsed.connections ?? "64", 1, 10_000));
/** The history scenario's own defaults: the size and the moderate concurrency issue 21 names. */
const HISTORY_USERS = parsed.users === undefined ? 1_000_000 : USERS;
const HISTORY_CONNECTIONS = parsed.connections === undefined ? 16 : CONNECTIONS;
const WARMUP = num("warmup", parsed.warmup!, 0, 60);
const ROUNDS = Math.floor(num("rounds", parsed.rounds!, 1, 20));
const WATCHERS = Math.floor(num("watchers", parsed.watchers!, 1, 100_000));
const ORG_WATCHERS = Math.floor(num("org-watchers", parsed["org-watchers"]!, 0, 1_000));
const BACKLOG = Math.floor(num("backlog", parsed.backlog!, 1, 10_000_000));
if (parsed.backend !== "sqlite" && parsed.backend !== "postgres") usage(`--backend must be sqlite or postgres`);
const BACKEND = parsed.backend as Backend;
const ARGS = process.argv.slice(2);
const COMMAND = ["npm", "run", "bench", ...(ARGS.length ? ["--", ...ARGS] : [])].join(" ");
const has = (s: Scenario) => scenarios.includes(s);

if (((protocols.includes("grpc") && (has("ceiling") || has("lockunlock"))) || has("workers")) && !h2loadPath()) {
  console.error(`bench: ${H2LOAD_HINT}`);
  process.exit(2);
}

// Hard deadline: every measurement is bounded, so this is generous but finite.
const perProtocol = 6 * ROUNDS * (DURATION + WARMUP) + 30;
const HARD_DEADLINE_S =
  180 +
  paths.length *
    (protocols.length * perProtocol * 2 +
      (has("scale") ? 120 + USERS / 10_000 + protocols.length * 2 * (DURATION + 30) + 3 * (DURATION + 30) : 0) +
      (has("crowd") ? WARMUP + DURATION + 120 : 0) +
      (has("signin") ? 300 : 0) +
      (has("bulk") ? 120 + ROUNDS * 60 : 0) +
      (has("watchers") ? ROUNDS * (5 * (DURATION + 120) + 2 * WARMUP + 90) : 0) +
      (has("history") ? 120 + HISTORY_USERS / 1_000 + protocols.length * ROUNDS * 6 * (DURATION + WARMUP + 30) : 0) +
      // Each round's waits for receipts and each backlog's fill and drain are bounded by delivery.ts's own timeouts.
      (has("delivery") ? 120 + ROUNDS * (4 * (DURATION + WARMUP + 60) + 3 * 600) + 3 * (240 + 600 + 60) : 0) +
      (has("workers") ? 240 + ROUNDS * (WORKERS_LOADS.length * 2 * (WARMUP + 30 + PAIRS * (sliceSeconds(DURATION) + 30)) + 90) : 0));
const deadline = setTimeout(() => {
  console.error(`bench: hard deadline of ${HARD_DEADLINE_S} s passed; killing the server and the load`);
  killLoad();
  void cleanup().finally(() => process.exit(1));
}, HARD_DEADLINE_S * 1000);
deadline.unref();

const log = (msg: string) => console.error(`[bench ${(performance.now() / 1000).toFixed(1)}s] ${msg}`);
/**
 * Rounds of one measurement: the one with the median requests per second (the upper middle one
 * of an even count), with the errors of every round and each round's rate.
 */
function ofRounds(rounds: Measured[]): Measured & { rounds: number[] } {
  const median = [...rounds].sort((a, b) => a.rps - b.rps)[Math.floor(rounds.length / 2)]!;
  return {
    ...median,
    errors: rounds.reduce((sum, m) => sum + m.errors, 0),
    firstError: rounds.find((m) => m.firstError)?.firstError,
    rounds: rounds.map((m) => m.rps),
  };
}

/** One latency round at half the maximum: lock/unlock, then the no-op and a bare Node server at the same rate. */
interface LatencyRound {
  lock: Measured & { rate: number };
  noop: Measured;
  bare: BareMeasured;
  /** The bare server answering each call after an fdatasync: the disk's part of a durable answer. */
  durable: BareMeasured;
  /** Lock/unlock p99 ÷ the bare server's p99 (issue 23's ≤ 2×). */
  overFloor: number;
}

/** The round with the median p99 over the floor (the upper middle one of an even count): the machine's spells move both. */
const medianRound = (rounds: LatencyRound[]) => [...rounds].sort((a, b) => a.overFloor - b.overFloor)[Math.floor(rounds.length / 2)]!;

// ---------------------------------------------------------------- sessions (server + data)

interface Session {
  path: RpcPath;
  db: Database;
  server: RunningServer;
  instance: Instance;
  seed: SeedResult;
  idsFile: string;
  firstStartMs: number;
}
const sessions = new Set<Session>();
const databases = new Set<Database>();

async function cleanup(): Promise<void> {
  for (const s of sessions) await s.server.stop().catch(() => undefined);
  for (const d of databases) await d.drop().catch(() => undefined);
  sessions.clear();
  databases.clear();
}

/** Fresh database → first start (migrations, org, admin) → stop → bulk seed → start again, on the RPC path `path`. */
async function openSession(users: number, path: RpcPath, extraEnv: NodeJS.ProcessEnv = {}): Promise<Session> {
  const db = await freshDatabase(BACKEND);
  databases.add(db);
  const port = await freePort();
  const env = { ...extraEnv, RPC_FAST_PATH: RPC_FAST_PATH[path] };
  const first = await startServer(db, port, env);
  const instance = await readInstance(BACKEND, db.url);
  await first.stop();
  log(`seeding ${users} users (${BACKEND})`);
  const seed = BACKEND === "sqlite" ? await seedSqlite(db.url, instance, users) : await seedPostgres(db.url, instance, users);
  log(`seeded ${users} users in ${seed.seconds.toFixed(1)} s (${Math.round(seed.usersPerS)} users/s)`);
  const idsFile = join(db.dataDir, "ids.txt");
  writeFileSync(idsFile, `${seed.ids.join("\n")}\n`);
  const server = await startServer(db, port, env);
  log(`server pid ${server.pid} (RPC_FAST_PATH=${env.RPC_FAST_PATH}) on ${server.baseUrl}: first served call ${server.startToFirstCallMs.toFixed(0)} ms after spawn`);
  const session = { path, db, server, instance, seed, idsFile, firstStartMs: first.startToFirstCallMs };
  sessions.add(session);
  return session;
}

async function closeSession(s: Session): Promise<void> {
  await s.server.stop();
  sessions.delete(s);
  await s.db.drop();
  databases.delete(s.db);
}

// ---------------------------------------------------------------- measurements

interface LoadOut {
  ok: number;
  errors: number;
  rps: number;
  elapsedS: number;
  latencies: number[];
  firstError?: string;
  errorsByStatus?: Record<string, number>;
  statuses?: Record<string, number>;
  loopDelayP99Ms?: number;
  /** Cores the load generator kept busy: near 1, it and not the server may be the limit. */
  cpuCores?: number;
}
interface Measured {
  rps: number;
  ok: number;
  errors: number;
  latencyMs: Latency;
  serverCpuCores: number;
  loadCpuCores?: number;
  /** The server's own timing of the same calls, and its collection pauses. */
  server: ServerView;
  /** p99 of the load generator's own event-loop delay: time it was too busy to take an answer. */
  loadLoopDelayP99Ms?: number;
  firstError?: string;
  detail?: Record<string, unknown>;
}

type Op = "noop" | "lockunlock" | "get" | "list" | HistoryMeasure;

/** Runs the load generator of `protocol` against `url`: a closed loop, or `rate` calls a second. */
function runLoad(url: string, s: Session, protocol: Protocol, op: Op, seconds: number, rate: number | undefined, connections: number): Promise<LoadOut> {
  const common = { url, token: s.server.token, idsFile: s.idsFile, durationS: seconds };
  return protocol === "grpc"
    ? runNodeLoad<LoadOut>(
        "load-grpc.ts",
        { ...common, op, mode: rate ? "rate" : "closed", rate, concurrency: connections, connections: Math.min(4, connections) },
        seconds + 120,
      )
    : runNodeLoad<LoadOut>("load-http.ts", { ...common, protocol, op, connections, overallRate: rate }, seconds + 120);
}

async function load(s: Session, protocol: Protocol, op: Op, seconds: number, rate?: number, connections = CONNECTIONS): Promise<Measured> {
  const scraped = await scrape(s.server.baseUrl);
  const cpu0 = cpuSeconds(s.server.pid);
  const t0 = performance.now();
  const out = await runLoad(s.server.baseUrl, s, protocol, op, seconds, rate, connections);
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = (cpuSeconds(s.server.pid) - cpu0) / elapsedS;
  return {
    rps: round(out.rps),
    ok: out.ok,
    errors: out.errors,
    latencyMs: summarize(out.latencies),
    serverCpuCores: round(cpu, 2),
    loadCpuCores: out.cpuCores === undefined ? undefined : round(out.cpuCores, 2),
    server: between(scraped, await scrape(s.server.baseUrl), elapsedS),
    loadLoopDelayP99Ms: out.loopDelayP99Ms,
    firstError: out.firstError ?? (out.errors ? JSON.stringify(out.statuses ?? out.errorsByStatus) : undefined),
  };
}

/** Calls a second that the bare server (bench/bare-server.ts) answered, and their latency. */
interface BareMeasured {
  rps: number;
  errors: number;
  latencyMs: Latency;
  loadLoopDelayP99Ms?: number;
}

/**
 * The no-op load at `rate` against a bare Node server instead of ours, with ours paused
 * (SIGSTOP) meanwhile so that nothing of it runs: the machine's own floor; `durable`, the floor
 * of an answer that waits for an fdatasync, in a file beside the database.
 */
async function onBare(s: Session, protocol: Protocol, rate: number, connections = CONNECTIONS, durable = false): Promise<BareMeasured> {
  const bare = await startBareServer(durable ? join(s.db.dataDir, "bare-durable.log") : undefined);
  process.kill(s.server.pid, "SIGSTOP");
  try {
    const url = protocol === "grpc" ? bare.grpcUrl : bare.httpUrl;
    if (WARMUP > 0) await runLoad(url, s, protocol, "noop", WARMUP, rate, connections);
    const out = await runLoad(url, s, protocol, "noop", DURATION, rate, connections);
    return { rps: round(out.rps), errors: out.errors, latencyMs: summarize(out.latencies), loadLoopDelayP99Ms: out.loopDelayP99Ms };
  } finally {
    process.kill(s.server.pid, "SIGCONT");
    await bare.stop();
  }
}

async function warm(s: Session, protocol: Protocol, op: Op) {
  if (WARMUP > 0) await load(s, protocol, op, WARMUP);
}

const settings = () => ({ users: USERS, durationS: DURATION, connections: CONNECTIONS, warmupS: WARMUP, rounds: ROUNDS, backend: BACKEND, protocols, rpcPaths: paths });
const header = (extra: object = {}) => ({ command: COMMAND, date: new Date().toISOString(), machine: machine(), settings: { ...settings(), ...extra } });
const HOW = {
  server: "taskset -c 0 node NODE_FLAGS dist/server.mjs (package.json config.nodeFlags, as npm start; BENCH_NOOP=1, RPC_FAST_PATH=on for the fast path, off for the stock one, LOG_LEVEL default=info, stdout to /dev/null)",
  grpc: "bench/load-grpc.ts (node:http2, pre-encoded frames per user, 4 connections, `connections` concurrent streams), taskset -c 1",
  http: "bench/load-http.ts (autocannon 8.0.0 programmatic, `connections` HTTP/1.1 connections, pipelining 1, setupRequest per request), taskset -c 1",
};
const printed: string[] = [];
const print = (title: string, text: string) => {
  const block = `\n## ${title}\n\n${text}\n`;
  printed.push(block);
  console.log(block);
};

// ---------------------------------------------------------------- scenario 1 + 2

type OfRounds = Measured & { rounds: number[] };
/** What scenarios 1 and 2 measured on one RPC path. */
interface PathResults {
  s: Session;
  ceiling: Partial<Record<Protocol, OfRounds>>;
  lockunlock: Partial<Record<Protocol, OfRounds>>;
  /** Each round at half the maximum: lock/unlock, the no-op at the same rate, a bare Node server at that rate. */
  latency: Partial<Record<Protocol, LatencyRound[]>>;
  h2load?: H2loadResult;
  mem?: ReturnType<typeof memoryMiB>;
}

async function throughputAndLatency() {
  // One server per path, each on its own database, all up at once: their rounds interleave.
  const results: PathResults[] = [];
  for (const path of paths) results.push({ s: await openSession(USERS, path), ceiling: {}, lockunlock: {}, latency: {} });
  const throughput = has("ceiling") || has("lockunlock");
  const needLock = has("lockunlock") || has("latency");
  for (const p of protocols) {
    const noopRounds = results.map((): Measured[] => []);
    const lockRounds = results.map((): Measured[] => []);
    // Latency alone needs one lock/unlock measurement, for its rate.
    const rounds = throughput ? ROUNDS : 1;
    for (let r = 1; r <= rounds; r++) {
      // The order of the paths alternates, so that neither always runs in the other's wake.
      const order = results.map((_, i) => i);
      if (r % 2 === 0) order.reverse();
      for (const i of order) {
        const { s } = results[i]!;
        const name = `${p}${tag(s.path)}`;
        if (throughput) {
          await warm(s, p, "noop");
          log(`${name}: ceiling (Noop), round ${r}/${rounds}, ${DURATION} s`);
          noopRounds[i]!.push(await load(s, p, "noop", DURATION));
          log(`${name}: ceiling ${noopRounds[i]!.at(-1)!.rps} req/s`);
        }
        if (needLock) {
          await warm(s, p, "lockunlock");
          log(`${name}: lock/unlock, round ${r}/${rounds}, ${DURATION} s`);
          lockRounds[i]!.push(await load(s, p, "lockunlock", DURATION));
          log(`${name}: lock/unlock ${lockRounds[i]!.at(-1)!.rps} req/s (${lockRounds[i]!.at(-1)!.errors} errors)`);
        }
      }
    }
    for (const [i, res] of results.entries()) {
      const { s } = res;
      const name = `${p}${tag(s.path)}`;
      if (noopRounds[i]!.length) res.ceiling[p] = ofRounds(noopRounds[i]!);
      if (lockRounds[i]!.length) res.lockunlock[p] = ofRounds(lockRounds[i]!);
      if (p === "grpc" && throughput) {
        log(`${name}: h2load cross-check on Noop, ${DURATION} s`);
        res.h2load = await runH2load({
          url: s.server.baseUrl,
          token: s.server.token,
          userId: s.seed.ids[0]!,
          dataDir: s.db.dataDir,
          connections: Math.min(4, CONNECTIONS),
          streams: Math.max(1, Math.ceil(CONNECTIONS / Math.min(4, CONNECTIONS))),
          durationS: DURATION,
        });
        log(`${name}: h2load ${res.h2load.rps} req/s`);
      }
      if (has("latency")) {
        const rate = Math.max(1, Math.floor(res.lockunlock[p]!.rps / 2));
        const latencyRounds: LatencyRound[] = (res.latency[p] = []);
        for (let r = 1; r <= ROUNDS; r++) {
          log(`${name}: latency at a fixed ${rate}/s, round ${r}/${ROUNDS}, ${DURATION} s`);
          const lock = { ...(await load(s, p, "lockunlock", DURATION, rate)), rate };
          log(`${name}: p99 ${lock.latencyMs.p99} ms; the no-op at the same rate, ${DURATION} s`);
          const noop = await load(s, p, "noop", DURATION, rate);
          log(`${name}: no-op p99 ${noop.latencyMs.p99} ms; a bare Node server at the same rate, ${DURATION} s`);
          const bare = await onBare(s, p, rate);
          log(`${name}: bare Node p99 ${bare.latencyMs.p99} ms; the same with an fdatasync before each answer, ${DURATION} s`);
          const durable = await onBare(s, p, rate, CONNECTIONS, true);
          log(`${name}: bare Node with fdatasync p99 ${durable.latencyMs.p99} ms`);
          latencyRounds.push({ lock, noop, bare, durable, overFloor: round(lock.latencyMs.p99 / bare.latencyMs.p99, 2) });
        }
      }
    }
  }
  for (const res of results) {
    res.mem = memoryMiB(res.s.server.pid);
    await closeSession(res.s);
  }

  /** Rows per protocol, and per path within it when the run names paths. */
  const rowsOf = (row: (p: Protocol, res: PathResults) => (string | number)[]) =>
    protocols.flatMap((p) => results.map((res) => (SHOW_PATH ? [p, res.s.path, ...row(p, res).slice(1)] : row(p, res))));
  const withPath = (header: string[]) => (SHOW_PATH ? [header[0]!, "path", ...header.slice(1)] : header);
  /** Fields per path of the results file; with one path they are the file's own, as before --rpc-path. */
  const perPath = (fields: (res: PathResults) => object) =>
    results.length === 1 ? fields(results[0]!) : { byPath: Object.fromEntries(results.map((res) => [res.s.path, fields(res)])) };
  const file = variant(paths);
  const files: string[] = [];
  if (throughput) {
    const rows = rowsOf((p, { ceiling, lockunlock, h2load }) => {
      const c = ceiling[p]!;
      const l = lockunlock[p];
      const ratio = l ? l.rps / c.rps : NaN;
      const perRound = l ? l.rounds.map((rps, i) => (100 * rps) / c.rounds[i]!) : [];
      return [
        p,
        c.rps,
        p === "grpc" && h2load ? h2load.rps : "",
        l ? l.rps : "",
        l ? `${round(ratio * 100)}%` : "",
        l ? `${round(Math.min(...perRound))}–${round(Math.max(...perRound))}%` : "",
        l ? pass(ratio >= 0.85) : "",
        `${c.serverCpuCores}/${l?.serverCpuCores ?? ""}`,
        `${c.loadCpuCores ?? ""}/${l?.loadCpuCores ?? ""}`,
        `${c.errors}/${l?.errors ?? ""}`,
      ];
    });
    const interleaved = results.length > 1 ? `, the paths' rounds interleaved` : "";
    print(
      `Ceiling vs lock/unlock (${BACKEND}, ${USERS} users, ${CONNECTIONS} connections/streams, median of ${ROUNDS} alternating rounds of ${DURATION} s${interleaved})`,
      table(withPath(["protocol", "Noop req/s", "h2load Noop req/s", "lock/unlock req/s", "ratio", "each round", "≥ 85%", "server cores noop/lock", "load cores noop/lock", "errors noop/lock"]), rows),
    );
    /** Both paths' medians of one measurement, and stock/fast. */
    const sideBySide = (fast?: OfRounds, stock?: OfRounds) => fast && stock && { fast: fast.rps, stock: stock.rps, ratio: round(stock.rps / fast.rps, 3) };
    const [fast, stock] = results;
    const stockVsFast =
      stock &&
      Object.fromEntries(protocols.map((p) => [p, { noop: sideBySide(fast!.ceiling[p], stock.ceiling[p]), lockunlock: sideBySide(fast!.lockunlock[p], stock.lockunlock[p]) }]));
    if (stockVsFast) {
      const cells = (m?: ReturnType<typeof sideBySide>) => (m ? [m.fast, m.stock, `${round(m.ratio * 100)}%`] : ["", "", ""]);
      print(
        `The two RPC paths side by side (req/s, medians of the same interleaved rounds; stock = RPC_FAST_PATH=off, Connect-ES's own handlers)`,
        table(
          ["protocol", "Noop fast", "Noop stock", "stock/fast", "lock/unlock fast", "lock/unlock stock", "stock/fast"],
          protocols.map((p) => [p, ...cells(stockVsFast[p]!.noop), ...cells(stockVsFast[p]!.lockunlock)]),
        ),
      );
    }
    const data = {
      ...header(),
      how: HOW,
      ...perPath(({ s, mem, h2load, ceiling, lockunlock }) => ({
        seeding: { ...s.seed, ids: undefined },
        serverMemoryMiBAtEnd: mem,
        h2loadNoop: h2load && { ...h2load, note: "one fixed body (h2load cannot vary it); cross-check that the Node generator is not the limit" },
        protocols: Object.fromEntries(
          protocols.map((p) => [p, { ceiling: ceiling[p], lockunlock: lockunlock[p], ratio: lockunlock[p] ? round(lockunlock[p]!.rps / ceiling[p]!.rps, 3) : undefined }]),
        ),
      })),
      stockVsFast,
      target: "lock/unlock ≥ 85% of the Noop ceiling per protocol",
    };
    if (has("ceiling")) files.push(writeResult("ceiling", `${BACKEND}${file}`, data));
    if (has("lockunlock")) files.push(writeResult("lockunlock", `${BACKEND}${file}`, data));
  }
  if (has("latency")) {
    const rows = rowsOf((p, res) => {
      const rounds = res.latency[p]!;
      const { lock: l, noop, bare: floor, durable, overFloor } = medianRound(rounds);
      const sv = l.server;
      const max = res.lockunlock[p]!;
      const perCallUs = (m: Measured) => round((m.serverCpuCores / m.rps) * 1e6, 0);
      return [
        p, l.rate, l.rps, l.latencyMs.p50, l.latencyMs.p95, l.latencyMs.p99, l.latencyMs.max,
        `${floor.latencyMs.p50} / ${floor.latencyMs.p99}`, `${overFloor}× (${rounds.map((r) => r.overFloor).join(", ")})`, pass(overFloor <= 2), pass(l.latencyMs.p99 <= 10),
        `${durable.latencyMs.p50} / ${durable.latencyMs.p99}`, `${round(l.latencyMs.p99 / durable.latencyMs.p99, 2)}×`,
        rounds.reduce((sum, r) => sum + r.lock.errors, 0),
        `${noop.latencyMs.p50} / ${noop.latencyMs.p99}`, `${round(noop.server.within10msShare * 100, 2)}%`,
        l.serverCpuCores, `${perCallUs(l)} / ${perCallUs(max)}`,
        `${round(sv.within10msShare * 100, 2)}%`, `≤ ${sv.p99AtMostMs}`, sv.gcMsPerS, sv.gcOver10ms, `${sv.loopDelayP99Ms} / ${sv.loopDelayMaxMs}`, round(l.loadLoopDelayP99Ms ?? NaN, 2),
      ];
    });
    print(
      `Latency at half the lock/unlock maximum (${BACKEND}, fixed rate, ${ROUNDS} rounds of ${DURATION} s each for lock/unlock, the no-op and a bare Node server; the round with the median p99 ÷ bare p99 shown), ms; a bare Node server at that rate (the machine's floor, bench/bare-server.ts), the same answering each call after an fdatasync (the disk's floor for a durable answer), and the no-op at the same rate (the stack's own floor); the server's cores busy at that rate and its CPU per call there and at the maximum; then the server's own view (its /metrics) and the load generator's event-loop delay`,
      table(
        withPath(["protocol", "rate/s", "achieved/s", "p50", "p95", "p99", "max", "bare Node p50 / p99", "p99 ÷ bare p99 (each round)", "≤ 2×", "p99 ≤ 10 ms", "bare Node + fdatasync p50 / p99", "p99 ÷ that p99", "errors", "no-op p50 / p99", "no-op: server ≤ 10 ms", "server cores", "CPU µs/call here / at max", "server ≤ 10 ms", "server p99", "GC ms/s", "GCs > 10 ms", "server loop p99 / max", "load loop p99"]),
        rows,
      ),
    );
    files.push(
      writeResult("latency", `${BACKEND}${file}`, {
        ...header(),
        how: { ...HOW, grpcRate: "open loop on a fixed schedule (bench/open-loop.ts)", httpRate: "open loop on a fixed schedule, node:http over `connections` keep-alive connections (bench/open-loop.ts)" },
        ...perPath((res) => ({ protocols: res.latency })),
        target: "p99 at half the maximum lock/unlock rate ≤ 2× a bare Node server's p99 at that rate (issue 23), and ≤ 10 ms",
      }),
    );
  }
  for (const f of files) log(`wrote ${f}`);
}

// ---------------------------------------------------------------- scenario 3: scale

async function scale(path: RpcPath) {
  const small = 1000;
  const lockSmall: Partial<Record<Protocol, Measured>> = {};
  const lockLarge: Partial<Record<Protocol, Measured>> = {};
  {
    const s = await openSession(small, path);
    for (const p of protocols) {
      await warm(s, p, "lockunlock");
      lockSmall[p] = await load(s, p, "lockunlock", DURATION);
      log(`scale${tag(path)}: ${small} users, ${p} lock/unlock ${lockSmall[p]!.rps} req/s`);
    }
    await closeSession(s);
  }
  const s = await openSession(USERS, path);
  const startMs = s.server.startToFirstCallMs;
  const memAfterStart = memoryMiB(s.server.pid);
  for (const p of protocols) {
    await warm(s, p, "lockunlock");
    lockLarge[p] = await load(s, p, "lockunlock", DURATION);
    log(`scale${tag(path)}: ${USERS} users, ${p} lock/unlock ${lockLarge[p]!.rps} req/s`);
  }
  log(`scale${tag(path)}: ListUsers (state ACTIVE, limit 100) at 20/s over Connect JSON, ${DURATION} s`);
  if (WARMUP > 0) await load(s, "connect", "list", WARMUP, 20, 4);
  const list = await load(s, "connect", "list", DURATION, 20, 4);
  log(`scale${tag(path)}: ListUsers p99 ${list.latencyMs.p99} ms`);
  log(`scale${tag(path)}: GetUserByID (random users) at 200/s over gRPC, ${DURATION} s`);
  if (WARMUP > 0) await load(s, "grpc", "get", WARMUP, 200, 16);
  const get = await load(s, "grpc", "get", DURATION, 200, 16);
  log(`scale${tag(path)}: GetUserByID p99 ${get.latencyMs.p99} ms; the no-op at the same rate, ${DURATION} s`);
  const getNoop = await load(s, "grpc", "noop", DURATION, 200, 16);
  log(`scale${tag(path)}: no-op p99 ${getNoop.latencyMs.p99} ms; a bare Node server at the same rate, ${DURATION} s`);
  const getBare = await onBare(s, "grpc", 200, 16);
  log(`scale${tag(path)}: bare Node p99 ${getBare.latencyMs.p99} ms`);
  const mem = memoryMiB(s.server.pid);
  await closeSession(s);

  const rows: (string | number)[][] = [
    ["seeding", `${USERS} users in ${round(s.seed.seconds)} s (${Math.round(s.seed.usersPerS)}/s)`, "≤ 60 s for 1,000,000", pass(s.seed.seconds * (1_000_000 / USERS) <= 60) + (USERS < 1_000_000 ? " (extrapolated)" : "")],
    ["start → first served call", `${round(startMs)} ms (first start on an empty db: ${round(s.firstStartMs)} ms)`, "≤ 1000 ms", pass(startMs <= 1000)],
    ...protocols.map((p) => {
      const r = lockLarge[p]!.rps / lockSmall[p]!.rps;
      return [`${p} lock/unlock req/s`, `${lockLarge[p]!.rps} vs ${lockSmall[p]!.rps} at ${small} users (${round(r * 100)}%)`, "≥ 90%", pass(r >= 0.9)];
    }),
    ["ListUsers state+limit 100 p99", `${list.latencyMs.p99} ms (p50 ${list.latencyMs.p50}, ${list.ok} ok, ${list.errors} errors)`, "≤ 20 ms", pass(list.latencyMs.p99 <= 20)],
    [
      "GetUserByID p99",
      `${get.latencyMs.p99} ms (p50 ${get.latencyMs.p50}, ${get.ok} ok, ${get.errors} errors; in the server ${round(get.server.within5msShare * 100, 2)}% within 5 ms; the no-op at the same rate: p50 ${getNoop.latencyMs.p50}, p99 ${getNoop.latencyMs.p99} ms; a bare Node server: p50 ${getBare.latencyMs.p50}, p99 ${getBare.latencyMs.p99} ms)`,
      "≤ 5 ms",
      pass(get.latencyMs.p99 <= 5),
    ],
    ["server memory", `VmRSS ${mem?.vmRssMiB} MiB, VmHWM ${mem?.vmHwmMiB} MiB (after start: ${memAfterStart?.vmRssMiB})`, "≤ 256 MiB", pass((mem?.vmHwmMiB ?? Infinity) <= 256)],
  ];
  print(`Scale (${BACKEND}, ${USERS} users)${tag(path)}`, table(["measure", "result", "target", "met"], rows));
  log(
    `wrote ${writeResult("scale", `${BACKEND}${variant([path])}`, {
      ...header(),
      how: { ...HOW, list: "Connect JSON ListUsers {query:{limit:100}, queries:[{stateQuery:{state:USER_STATE_ACTIVE}}]} at 20/s over 4 connections", get: "gRPC GetUserByID random users, open loop 200/s; then the no-op the same way, and the no-op against bench/bare-server.ts" },
      seeding: { ...s.seed, ids: undefined },
      startToFirstCallMs: round(startMs),
      firstStartOnEmptyDbMs: round(s.firstStartMs),
      lockunlock: Object.fromEntries(protocols.map((p) => [p, { users1000: lockSmall[p], usersLarge: lockLarge[p], ratio: round(lockLarge[p]!.rps / lockSmall[p]!.rps, 3) }])),
      listUsers: list,
      getUserById: get,
      noopAtTheGetRate: getNoop,
      bareNodeAtTheGetRate: getBare,
      serverMemoryMiB: { afterStart: memAfterStart, atEnd: mem },
    })}`,
  );
}

// ---------------------------------------------------------------- scenario 4: crowd

async function crowd(path: RpcPath) {
  const s = await openSession(1, path);
  const conns = 600;
  log(`crowd${tag(path)}: ${conns} connections doing AddHumanUser → LockUser → DeleteUser over Connect JSON, ${WARMUP} s of warm-up and ${DURATION} s measured`);
  const cpu0 = cpuSeconds(s.server.pid);
  const pg0 = postgresCpu();
  const t0 = performance.now();
  const out = await runNodeLoad<{
    elapsedS: number;
    cycles: number;
    allCycles: number;
    errors: Record<string, number>;
    firstError?: string;
    latencies: Record<string, number[]>;
    wholeLatencies: Record<string, number[]>;
  }>("load-crowd.ts", { url: s.server.baseUrl, token: s.server.token, orgId: s.instance.orgId, connections: conns, warmupS: WARMUP, durationS: DURATION }, WARMUP + DURATION + 120);
  // Over the whole run, warm-up included: the server's CPU cannot be split at the warm-up's end.
  const seconds = (performance.now() - t0) / 1000;
  const cpuS = cpuSeconds(s.server.pid) - cpu0;
  const cpu = cpuS / seconds;
  const pgCpu = BACKEND === "postgres" ? round(postgresCpuSince(pg0) / seconds, 2) : undefined;
  const cpuUsPerCall = round((cpuS * 1e6) / (3 * out.allCycles), 0);
  const mem = memoryMiB(s.server.pid);
  await closeSession(s);
  const lat = Object.fromEntries(Object.entries(out.latencies).map(([k, v]) => [k, summarize(v)]));
  const wholeLat = Object.fromEntries(Object.entries(out.wholeLatencies).map(([k, v]) => [k, summarize(v)]));
  const rows = Object.entries(lat).map(([k, l]) => [k, l.count, round(l.count / out.elapsedS), l.p50, l.p95, l.p99, l.max, `${wholeLat[k]!.p50} / ${wholeLat[k]!.p95} / ${wholeLat[k]!.p99}`]);
  print(
    `Crowd (${BACKEND}, ${conns} connections, create → lock → delete, ${DURATION} s after ${WARMUP} s of warm-up)${tag(path)}, ms — ZITADEL v4 published: lock p50 1100, p95 6360 at 600 VUs`,
    `${table(["call", "count", "per s", "p50", "p95", "p99", "max", "whole run with the warm-up: p50 / p95 / p99"], rows)}\n\ncycles: ${out.cycles} (${round(out.cycles / out.elapsedS)}/s), errors: ${JSON.stringify(out.errors)}, server cores ${round(cpu, 2)} (${cpuUsPerCall} µs a call)${pgCpu === undefined ? "" : `, PostgreSQL's processes ${pgCpu} cores`}`,
  );
  log(
    `wrote ${writeResult("crowd", `${BACKEND}${variant([path])}`, {
      ...header({ connections: conns }),
      how: {
        ...HOW,
        crowd: "bench/load-crowd.ts: node:http keep-alive agent, 600 sockets, each VU loops AddHumanUser (no password) → LockUser → DeleteUser, Connect JSON, taskset -c 1; calls sent in the first `warmupS` s are not in latencyMs and cycles (they are in wholeLatencyMs); CPU over the whole run",
      },
      elapsedS: out.elapsedS,
      cycles: out.cycles,
      errors: out.errors,
      firstError: out.firstError,
      latencyMs: lat,
      wholeLatencyMs: wholeLat,
      serverCpuCores: round(cpu, 2),
      cpuUsPerCall,
      postgresCpuCores: pgCpu,
      serverMemoryMiB: mem,
      reference: "ZITADEL v4 benchmark: lock p50 1.1 s, p95 6.36 s at 600 virtual users on a cluster",
    })}`,
  );
}

// ---------------------------------------------------------------- scenario: history

/** bench/history.ts on the cached (or newly seeded) database of HISTORY_USERS users. */
async function history(path: RpcPath) {
  const data = await historyData(BACKEND, HISTORY_USERS, log);
  const server = await startServer(data.db, await freePort(), { RPC_FAST_PATH: RPC_FAST_PATH[path] });
  const s: Session = { path, ...data, server, firstStartMs: NaN };
  sessions.add(s);
  log(`history${tag(path)}: server pid ${server.pid} on ${server.baseUrl}, first served call ${server.startToFirstCallMs.toFixed(0)} ms after spawn`);
  await measureHistory({
    users: HISTORY_USERS,
    protocols,
    rounds: ROUNDS,
    connections: HISTORY_CONNECTIONS,
    data,
    measure: async (p, op, rate) => {
      if (WARMUP > 0) await load(s, p, op, WARMUP, rate, HISTORY_CONNECTIONS);
      return load(s, p, op, DURATION, rate, HISTORY_CONNECTIONS);
    },
    log,
    print,
    header: () => header({ users: HISTORY_USERS, connections: HISTORY_CONNECTIONS }),
    tag: tag(path),
    fileSuffix: variant([path]),
  });
  await server.stop();
  sessions.delete(s);
}

/** Sign-in throughput and the other calls' latency meanwhile: bench/sign-in.ts, run as it is but for the RPC path. */
function signIn(path: RpcPath): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = variant([path]) ? ["--out", `bench/results/sign-in${variant([path])}.json`] : [];
    const env = { ...process.env, RPC_FAST_PATH: RPC_FAST_PATH[path] };
    const child = spawn(process.execPath, ["--import", "tsx", "bench/sign-in.ts", ...out], { cwd: ROOT, env, stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`bench/sign-in.ts exited with ${code}`))));
  });
}

// ---------------------------------------------------------------- main

/** What the scenarios that run on one session of their own (watchers, delivery) get from here. */
function onSession(path: RpcPath, env: NodeJS.ProcessEnv = {}) {
  return {
    users: USERS,
    durationS: DURATION,
    warmupS: WARMUP,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    open: () => openSession(USERS, path, env),
    close: (s: { server: RunningServer }) => closeSession(s as Session),
    log,
    print,
    header,
    tag: tag(path),
    resultName: `${BACKEND}${variant([path])}`,
  };
}

let code = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killLoad();
    void cleanup().finally(() => process.exit(130));
  });
}
try {
  log(`${COMMAND} — ${machine().cores} cores, ${machine().cpuModel}, node ${process.version}`);
  if (has("ceiling") || has("lockunlock") || has("latency")) await throughputAndLatency();
  for (const path of paths) if (has("scale")) await scale(path);
  for (const path of paths) if (has("crowd")) await crowd(path);
  for (const path of paths) if (has("signin")) await signIn(path);
  for (const path of paths)
    if (has("bulk"))
      await bulk({ backend: BACKEND, rounds: ROUNDS, connections: CONNECTIONS, env: { RPC_FAST_PATH: RPC_FAST_PATH[path] }, name: `${BACKEND}${variant([path])}`, command: COMMAND, log, print });
  for (const path of paths) if (has("watchers")) await watchers({ ...onSession(path), watchers: WATCHERS, orgWatchers: ORG_WATCHERS });
  for (const path of paths) if (has("history")) await history(path);
  for (const path of paths) if (has("delivery")) await delivery({ ...onSession(path, { OUTBOUND_URL_ALLOW: "http://127.0.0.1" }), backlog: BACKLOG });
  for (const path of paths)
    if (has("workers"))
      await workers({ backend: BACKEND, users: USERS, rounds: ROUNDS, connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, env: { RPC_FAST_PATH: RPC_FAST_PATH[path] }, name: `${BACKEND}${variant([path])}`, log, print, header });
  const pinned = scenarios.some((s) => s !== "signin" && s !== "workers") ? "; server on core 0, load on core 1" : "";
  console.log(`\n${COMMAND}\n${machine().cores} cores (${machine().cpuModel}), node ${process.version}${pinned}`);
} catch (err) {
  console.error("bench failed:", err);
  for (const s of sessions) console.error(`--- server stderr ---\n${s.server.stderr().slice(-3000)}`);
  code = 1;
} finally {
  killLoad();
  await cleanup();
}
process.exit(code);
