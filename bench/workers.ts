/**
 * Scenario `workers` of bench/run.ts (issue 23): what WORKERS=2 serves on this machine against
 * WORKERS=1. Two databases seeded alike, a server on each, both unpinned: one with WORKERS=1,
 * one with WORKERS=2. Each round starts both; for each load, an unmeasured warm-up on each,
 * then PAIRS pairs of measures, each pair one on either server back to back (the order
 * alternating), over REST on HTTP/1.1 with `connections` connections: GetUserByID on the seeded
 * users, driven by h2load (runH2loadWalk), then lock/unlock pairs, no two calls on one user at
 * once, driven by wrk (bench/wrk-users.lua). The machine's speed drifts 20–50% within minutes,
 * more than a pair's seconds apart see (bench/FINDINGS.md, "every core, in pairs"), so the
 * target is judged on the median of the pairs' own ratios. The load generator is unpinned too
 * and shares the two cores with the server: its cores are reported beside the server's. A
 * measure with an answer the load did not expect fails the scenario (after its results are
 * written).
 * Target: WORKERS=2 ≥ 1.3× WORKERS=1 for both loads.
 *
 * References, measured in each round the same way, for what a second process gains on this
 * machine where nothing is shared. `reference`: bench/bare-cluster.ts, a bare Node server doing
 * REFERENCE_UNITS of JSON work a call, about what a lock/unlock costs one of our workers, as one
 * process and as a node:cluster of two. `apartGet` and `apart`: GetUserByID and lock/unlock on
 * our own server with WORKERS=1 alone, against two such servers at once, each on a database of
 * its own and loaded by a load generator of its own with half the connections (their requests
 * and cores added up; both collectors single-threaded, as the workers' are): what our two
 * workers cost each other through the shared database is absent from them, and what a second
 * busy process of our server costs on this machine (its smaller group commits, the cores'
 * caches, the scheduler) is in them.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { endedChildrenCpuSeconds, runH2loadWalk, runWrk, type UsersLoadResult } from "./load.js";
import { median, pass, round, table, writeResult } from "./report.js";
import { seededDatabase, type SeededDatabase } from "./seeded-database.js";
import { between, scrape, type ServerView } from "./server-metrics.js";
import { childrenOf, cpuSeconds, postgresCpu, postgresCpuSince, startBareCluster, startServer, type Backend } from "./server.js";

export interface WorkersOptions {
  backend: Backend;
  users: number;
  rounds: number;
  connections: number;
  /** Each measure of a pair takes half of it (at least 2 s). */
  durationS: number;
  warmupS: number;
  /** The server's environment beyond the bench's own (RPC_FAST_PATH). */
  env: NodeJS.ProcessEnv;
  /** The results file's suffix: bench/results/workers-<name>.json. */
  name: string;
  log(msg: string): void;
  print(title: string, text: string): void;
  header(extra?: object): object;
}

/** Pairs of measures a load and round. */
export const PAIRS = 5;
export const sliceSeconds = (durationS: number) => Math.max(2, durationS / 2);

export const LOADS = ["get", "lockunlock", "reference", "apartGet", "apart"] as const;
type Load = (typeof LOADS)[number];
/** The reference's work a call: JSON round trips of a user; with HTTP ~140–160 µs of CPU a call alone (a lock/unlock: ~200–220). */
const REFERENCE_UNITS = 30;
const SETTINGS = [1, 2] as const;
type Workers = (typeof SETTINGS)[number];
const TARGET = 1.3;
/**
 * Each load: its row's name; whether it is GetUserByID (h2load; the rest are lock/unlock pairs
 * from wrk, which the bare reference answers with its JSON work); and what it measures: our
 * WORKERS=2 against WORKERS=1 (judged on the target), the bare reference, or our server twice.
 */
const LOAD: Record<Load, { name: string; reads: boolean; of: "ours" | "bare" | "apart" }> = {
  get: { name: "GetUserByID (GET /v2/users/{id})", reads: true, of: "ours" },
  lockunlock: { name: "lock/unlock (POST /v2/users/{id}/lock, /unlock)", reads: false, of: "ours" },
  reference: { name: `reference: bench/bare-cluster.ts, ${REFERENCE_UNITS} units a call, the lock/unlock script`, reads: false, of: "bare" },
  apartGet: { name: "reference: GetUserByID, WORKERS=1 alone against two WORKERS=1 servers at once, a database and half the connections each", reads: true, of: "apart" },
  apart: { name: "reference: lock/unlock, WORKERS=1 alone against two WORKERS=1 servers at once, a database and half the connections each", reads: false, of: "apart" },
};

interface Measurement extends Omit<UsersLoadResult, "cpuCores"> {
  rps: number;
  /** All the server's processes, the primary alone, and each worker with its delivery process. */
  serverCores: number;
  primaryCores: number;
  workerCores: number[];
  /** The load generator's (h2load's or wrk's). */
  loadCores: number;
  /** PostgreSQL's processes (every process named postgres) on the same cores; undefined on SQLite. */
  databaseCores?: number;
  /** Undefined for the bare reference, which keeps no metrics, and for the two servers of `apart` and `apartGet` measured together. */
  server?: ServerView;
}

/** What a measure needs of the server under load. */
interface Target {
  pid: number;
  baseUrl: string;
  token: string;
}


/** The CPU seconds of each of a server's processes: its own pid's, and each child's with its children. */
function cpuOf(server: Target): Map<number, number> {
  const of = new Map([[server.pid, cpuSeconds(server.pid, "own")]]);
  for (const child of childrenOf(server.pid)) of.set(child, cpuSeconds(child));
  return of;
}

async function measure(o: WorkersOptions, server: Target, idsFile: string, load: Load, seconds: number, share: { connections: number; threads?: number } = { connections: o.connections }): Promise<Measurement> {
  const scraped = LOAD[load].of === "bare" ? undefined : await scrape(server.baseUrl);
  const cpu0 = cpuOf(server);
  const database0 = o.backend === "postgres" ? postgresCpu() : undefined;
  const t0 = performance.now();
  const { cpuCores: loadCores, ...out } = await (LOAD[load].reads ? runH2loadWalk : runWrk)({ url: server.baseUrl, token: server.token, idsFile, ...share, durationS: seconds });
  const elapsedS = (performance.now() - t0) / 1000;
  const cores = [...cpuOf(server)].map(([pid, cpu]) => (cpu - (cpu0.get(pid) ?? 0)) / elapsedS);
  const view = scraped && between(scraped, await scrape(server.baseUrl), elapsedS);
  return {
    ...out,
    rps: round(out.requests / (out.durationUs / 1e6)),
    serverCores: round(cores.reduce((a, b) => a + b, 0), 2),
    primaryCores: round(cores[0]!, 2),
    workerCores: cores.slice(1).map((c) => round(c, 2)),
    loadCores: round(loadCores, 2),
    databaseCores: database0 === undefined ? undefined : round(postgresCpuSince(database0) / elapsedS, 2),
    server: view,
  };
}

/**
 * The second measure of `apart` and `apartGet`: two WORKERS=1 servers loaded at once, each by a
 * load generator with half the connections and half the threads (so that the two cost what one
 * does). Requests, answers and the servers' cores add up; each server's cores are listed as
 * workerCores; the latencies are the slower server's; PostgreSQL's cores, which each measure
 * reads for every process of the one database server, are taken once.
 */
async function measureApart(o: WorkersOptions, servers: [Target, Target], idsFiles: [string, string], load: Load, seconds: number): Promise<Measurement> {
  const half = { connections: Math.max(1, Math.floor(o.connections / 2)), threads: Math.max(1, Math.floor(cpus().length / 2)) };
  // Each load generator's own count of its CPU (RUSAGE_CHILDREN around its run) may hold the other's too.
  const load0 = endedChildrenCpuSeconds();
  const t0 = performance.now();
  const [a, b] = await Promise.all([measure(o, servers[0], idsFiles[0], load, seconds, half), measure(o, servers[1], idsFiles[1], load, seconds, half)]);
  const loadCores = (endedChildrenCpuSeconds() - load0) / ((performance.now() - t0) / 1000);
  return {
    requests: a.requests + b.requests,
    durationUs: Math.max(a.durationUs, b.durationUs),
    ok: a.ok + b.ok,
    unexpected: a.unexpected + b.unexpected,
    resumed: a.resumed + b.resumed,
    non2xx: a.non2xx + b.non2xx,
    socketErrors: a.socketErrors + b.socketErrors,
    p50Us: Math.max(a.p50Us, b.p50Us),
    p99Us: Math.max(a.p99Us, b.p99Us),
    maxUs: Math.max(a.maxUs, b.maxUs),
    firstUnexpected: a.firstUnexpected || b.firstUnexpected,
    rps: round(a.rps + b.rps),
    serverCores: round(a.serverCores + b.serverCores, 2),
    primaryCores: round(a.primaryCores + b.primaryCores, 2),
    workerCores: [a.serverCores, b.serverCores],
    loadCores: round(loadCores, 2),
    databaseCores: a.databaseCores === undefined ? undefined : round(Math.max(a.databaseCores, b.databaseCores ?? 0), 2),
  };
}

interface Pair {
  one: Measurement;
  two: Measurement;
  twoFirst: boolean;
}
type Round = Record<Load, Pair[]>;

type Measure = (load: Load, seconds: number) => Promise<Measurement>;

export async function workers(o: WorkersOptions): Promise<void> {
  const seeded: SeededDatabase[] = [];
  const running: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    while (running.length) await running.pop()!.stop();
  };
  try {
    for (const w of SETTINGS) seeded.push(await seededDatabase(o.backend, o.users, o.env, o.log, `workers (WORKERS=${w})`));
    const idsFiles = seeded.map(({ db, ids }) => {
      const file = join(db.dataDir, "ids.txt");
      writeFileSync(file, `${ids.join("\n")}\n`);
      return file;
    });
    const rounds: Round[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      const result = {} as Round;
      const on = {} as Record<Workers, Measure>;
      for (const [i, w] of SETTINGS.entries()) {
        const server = await startServer(seeded[i]!.db, seeded[i]!.port, { ...o.env, WORKERS: String(w) }, { pinned: false });
        running.push(server);
        on[w] = (load, seconds) => measure(o, server, idsFiles[i]!, load, seconds);
      }
      result.get = await pairs(o, r, "get", on);
      result.lockunlock = await pairs(o, r, "lockunlock", on);
      await stopAll();
      for (const [i, w] of SETTINGS.entries()) {
        const bare = await startBareCluster(w, REFERENCE_UNITS);
        running.push(bare);
        on[w] = (load, seconds) => measure(o, { ...bare, token: "none" }, idsFiles[i]!, load, seconds);
      }
      result.reference = await pairs(o, r, "reference", on);
      await stopAll();
      // Two WORKERS=1 servers, one on each database (seeded alike): alone, and both at once; with
      // the collector single-threaded, as the primary starts its workers when they fill the cores.
      const apart = [] as Target[];
      const flags = [o.env.NODE_BENCH_FLAGS ?? process.env.NODE_BENCH_FLAGS, "--single-threaded-gc"].filter(Boolean).join(" ");
      for (const [i] of SETTINGS.entries()) {
        const server = await startServer(seeded[i]!.db, seeded[i]!.port, { ...o.env, WORKERS: "1", NODE_BENCH_FLAGS: flags }, { pinned: false });
        running.push(server);
        apart.push(server);
      }
      on[1] = (load, seconds) => measure(o, apart[0]!, idsFiles[0]!, load, seconds);
      on[2] = (load, seconds) => measureApart(o, [apart[0]!, apart[1]!], [idsFiles[0]!, idsFiles[1]!], load, seconds);
      result.apartGet = await pairs(o, r, "apartGet", on);
      result.apart = await pairs(o, r, "apart", on);
      await stopAll();
      rounds.push(result);
    }
    report(o, rounds);
  } finally {
    await stopAll();
    for (const { db } of seeded) await db.drop();
  }
}

/** A warm-up on each setting, then PAIRS pairs of measures, the order alternating. */
async function pairs(o: WorkersOptions, r: number, load: Load, on: Record<Workers, Measure>): Promise<Pair[]> {
  // Also the time for every worker to listen: the first call is served once one does.
  if (o.warmupS > 0) for (const w of SETTINGS) await on[w](load, o.warmupS);
  const result: Pair[] = [];
  for (let p = 0; p < PAIRS; p++) {
    // The order alternates, so that neither setting always runs in the other's wake.
    const twoFirst = (r + p) % 2 === 0;
    const first = await on[twoFirst ? 2 : 1](load, sliceSeconds(o.durationS));
    const second = await on[twoFirst ? 1 : 2](load, sliceSeconds(o.durationS));
    const pair = twoFirst ? { one: second, two: first, twoFirst } : { one: first, two: second, twoFirst };
    result.push(pair);
    o.log(
      `workers: round ${r}/${o.rounds}, ${load}, pair ${p + 1}/${PAIRS}: WORKERS=1 ${pair.one.rps} req/s (server ${pair.one.serverCores} cores, load ${pair.one.loadCores}), ` +
        `WORKERS=2 ${pair.two.rps} req/s (server ${pair.two.serverCores} cores: workers ${pair.two.workerCores.join(" + ")}, load ${pair.two.loadCores}); ` +
        `${pair.one.unexpected + pair.two.unexpected} unexpected, ${pair.one.socketErrors + pair.two.socketErrors} socket errors`,
    );
  }
  return result;
}

const cpuUsPerCall = (m: Measurement) => round((m.serverCores / m.rps) * 1e6, 0);

function report(o: WorkersOptions, rounds: Round[]): void {
  const pairsOf = (load: Load) => rounds.flatMap((r) => r[load]);
  const pairRatio = (p: Pair) => p.two.rps / p.one.rps;
  const of = (load: Load, w: Workers) => pairsOf(load).map((p) => (w === 1 ? p.one : p.two));
  const medianOf = (load: Load, w: Workers, pick: (m: Measurement) => number) => median(of(load, w).map(pick));
  const failed = rounds.flatMap((r, i) =>
    LOADS.flatMap((load) =>
      r[load].flatMap((p, j) =>
        SETTINGS.flatMap((w) => {
          const m = w === 1 ? p.one : p.two;
          return m.unexpected > 0 ? [`round ${i + 1}, ${load}, pair ${j + 1}, WORKERS=${w}: ${m.unexpected} unexpected, first: ${m.firstUnexpected}`] : [];
        }),
      ),
    ),
  );
  const both = (load: Load, pick: (m: Measurement) => number) => `${medianOf(load, 1, pick)} / ${medianOf(load, 2, pick)}`;
  const rows = LOADS.map((load) => {
    const ratio = median(pairsOf(load).map(pairRatio));
    const latency = (w: Workers) => `${round(medianOf(load, w, (m) => m.p50Us) / 1000, 2)} / ${round(medianOf(load, w, (m) => m.p99Us) / 1000, 2)}`;
    return [
      LOAD[load].name,
      medianOf(load, 1, (m) => m.rps),
      medianOf(load, 2, (m) => m.rps),
      `${round(ratio, 2)}×`,
      rounds.map((r) => r[load].map((p) => round(pairRatio(p), 2)).join(" ")).join("; "),
      LOAD[load].of === "ours" ? pass(ratio >= TARGET) : "-",
      both(load, (m) => m.serverCores),
      both(load, (m) => m.loadCores),
      o.backend === "postgres" && LOAD[load].of !== "bare" ? both(load, (m) => m.databaseCores ?? NaN) : "-",
      both(load, cpuUsPerCall),
      `${latency(1)}; ${latency(2)}`,
      `${of(load, 1).reduce((n, m) => n + m.non2xx, 0)} / ${of(load, 2).reduce((n, m) => n + m.non2xx, 0)}`,
    ];
  });
  o.print(
    `WORKERS=2 against WORKERS=1 (${o.backend}, ${o.users} users, h2load (GetUserByID) and wrk (lock/unlock) over ${o.connections} HTTP/1.1 connections, unpinned; ${o.rounds} round(s) of ${PAIRS} pairs of ${sliceSeconds(o.durationS)} s, the order alternating; medians)`,
    table(["load", "WORKERS=1 req/s", "WORKERS=2 req/s", "2 ÷ 1: median of the pairs", "each pair (rounds ;)", `≥ ${TARGET}×`, "server cores 1 / 2", "load's cores 1 / 2", "PostgreSQL cores 1 / 2", "server CPU µs a call 1 / 2", "p50 / p99 ms, 1; 2", "non-2xx 1 / 2"], rows) +
      (failed.length ? `\n\nFAILED measures (answers the load did not expect):\n${failed.join("\n")}` : ""),
  );
  o.log(
    `wrote ${writeResult("workers", o.name, {
      ...o.header({ users: o.users, connections: o.connections, pairs: PAIRS, sliceS: sliceSeconds(o.durationS) }),
      how: {
        server: "two servers at once, each on its own database seeded alike: node NODE_FLAGS dist/server.mjs (as npm start) with WORKERS=1 and with WORKERS=2, unpinned; BENCH_NOOP=1, LOG_LEVEL default, stdout to /dev/null",
        load: "unpinned (it shares the cores with the server), one thread a core: GetUserByID by h2load --h1 -c C -i URIS (each connection GETs /v2/users/{id} of every user in turn), lock/unlock by wrk -c C --latency -s bench/wrk-users.lua (POST /v2/users/{id}/lock then /unlock, no two calls on one user at once)",
        pairs: `each round and load: a warm-up on each server, then ${PAIRS} pairs, one measure on each server back to back, the order alternating; the target on the median of the pairs' ratios`,
        reference: `after our two servers in each round: bench/bare-cluster.ts with 1 and with 2 processes (node:cluster, round-robin), each call ${REFERENCE_UNITS} rounds of JSON stringify and parse of a user before a 200, under the lock/unlock script; the same pairs`,
        apart: `after the reference in each round, GetUserByID (apartGet) then lock/unlock (apart): our server with WORKERS=1 on the first database alone (C connections), against it and a second WORKERS=1 server on the second database at once, each loaded by its own h2load or wrk with C/2 connections and half the threads (requests and cores added up, latencies the slower's); both servers with --single-threaded-gc, as the primary starts its workers when they fill the cores; the same pairs`,
        cpu: "server: the primary's own CPU and each worker's with its children, from /proc; load: this process's ended children's CPU around its run; PostgreSQL: every process named postgres running at the end, since the start",
      },
      target: `WORKERS=2 ≥ ${TARGET}× WORKERS=1 for GetUserByID and lock/unlock, the median of the pairs' ratios`,
      medians: Object.fromEntries(
        LOADS.map((load) => [
          load,
          {
            workers1: medianOf(load, 1, (m) => m.rps),
            workers2: medianOf(load, 2, (m) => m.rps),
            ratio: round(median(pairsOf(load).map(pairRatio)), 3),
            pairRatios: pairsOf(load).map((p) => round(pairRatio(p), 3)),
            cpuUsPerCall: { workers1: medianOf(load, 1, cpuUsPerCall), workers2: medianOf(load, 2, cpuUsPerCall) },
          },
        ]),
      ),
      failed,
      rounds,
    })}`,
  );
  if (failed.length) throw new Error(`workers: ${failed.length} measurement(s) had answers the script did not expect`);
}
