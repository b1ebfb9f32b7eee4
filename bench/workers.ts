/**
 * Scenario `workers` of bench/run.ts (issue 23): what WORKERS=2 serves on this machine against
 * WORKERS=1, on one seeded database. Each round starts the server with WORKERS=1 and then with
 * WORKERS=2 (the order alternating between rounds), unpinned, and drives each with wrk
 * (bench/wrk-users.lua: REST over HTTP/1.1, `connections` connections): GetUserByID on the
 * seeded users, then lock/unlock pairs on users each connection owns; each load after an
 * unmeasured warm-up of its own. wrk is unpinned too and shares the two cores with the server:
 * its cores are reported beside the server's. A round with an answer the script did not expect
 * fails the scenario (after its results are written).
 * Target: WORKERS=2 ≥ 1.3× WORKERS=1 for both loads.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runWrk, type WrkResult } from "./load.js";
import { pass, table, writeResult } from "./report.js";
import { seededDatabase } from "./seeded-database.js";
import { between, scrape, type ServerView } from "./server-metrics.js";
import { childrenOf, cpuSeconds, startServer, type Backend, type RunningServer } from "./server.js";

export interface WorkersOptions {
  backend: Backend;
  users: number;
  rounds: number;
  connections: number;
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

const LOADS = ["get", "lockunlock"] as const;
type Load = (typeof LOADS)[number];
const SETTINGS = [1, 2] as const;
type Workers = (typeof SETTINGS)[number];
const TARGET = 1.3;

interface Measurement extends Omit<WrkResult, "cpuCores"> {
  rps: number;
  /** All the server's processes, the primary alone, and each worker with its delivery process. */
  serverCores: number;
  primaryCores: number;
  workerCores: number[];
  wrkCores: number;
  server: ServerView;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The CPU seconds of each of a server's processes: its own pid's, and each child's with its children. */
function cpuOf(server: RunningServer): Map<number, number> {
  const of = new Map([[server.pid, cpuSeconds(server.pid, "own")]]);
  for (const child of childrenOf(server.pid)) of.set(child, cpuSeconds(child));
  return of;
}

async function measure(o: WorkersOptions, server: RunningServer, idsFile: string, load: Load, seconds: number): Promise<Measurement> {
  const scraped = await scrape(server.baseUrl);
  const cpu0 = cpuOf(server);
  const t0 = performance.now();
  const { cpuCores: wrkCores, ...out } = await runWrk({ url: server.baseUrl, token: server.token, idsFile, op: load, connections: o.connections, durationS: seconds });
  const elapsedS = (performance.now() - t0) / 1000;
  const cores = [...cpuOf(server)].map(([pid, cpu]) => (cpu - (cpu0.get(pid) ?? 0)) / elapsedS);
  const view = between(scraped, await scrape(server.baseUrl), elapsedS);
  return {
    ...out,
    rps: round(out.requests / (out.durationUs / 1e6)),
    serverCores: round(cores.reduce((a, b) => a + b, 0), 2),
    primaryCores: round(cores[0]!, 2),
    workerCores: cores.slice(1).map((c) => round(c, 2)),
    wrkCores: round(wrkCores, 2),
    server: view,
  };
}

export async function workers(o: WorkersOptions): Promise<void> {
  const { db, port, ids } = await seededDatabase(o.backend, o.users, o.env, o.log, "workers");
  let server: RunningServer | undefined;
  try {
    const idsFile = join(db.dataDir, "ids.txt");
    writeFileSync(idsFile, `${ids.join("\n")}\n`);

    const rounds: Record<Workers, Record<Load, Measurement>>[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      // The order alternates, so that neither setting always runs in the other's wake.
      const order = r % 2 === 1 ? SETTINGS : ([...SETTINGS].reverse() as Workers[]);
      const result = {} as Record<Workers, Record<Load, Measurement>>;
      for (const w of order) {
        server = await startServer(db, port, { ...o.env, WORKERS: String(w) }, { pinned: false });
        result[w] = {} as Record<Load, Measurement>;
        for (const load of LOADS) {
          // Also the time for every worker to listen: the first call is served once one does.
          if (o.warmupS > 0) await measure(o, server, idsFile, load, o.warmupS);
          const m = await measure(o, server, idsFile, load, o.durationS);
          result[w][load] = m;
          o.log(`workers: round ${r}/${o.rounds}, WORKERS=${w}, ${load}: ${m.rps} req/s, server ${m.serverCores} cores (workers ${m.workerCores.join(" + ") || "-"}), wrk ${m.wrkCores}; ${m.unexpected} unexpected, ${m.resumed} resumed, ${m.socketErrors} socket errors`);
        }
        await server.stop();
        server = undefined;
      }
      rounds.push(result);
    }
    report(o, rounds);
  } finally {
    await server?.stop();
    await db.drop();
  }
}

function report(o: WorkersOptions, rounds: Record<Workers, Record<Load, Measurement>>[]): void {
  const of = (w: Workers, load: Load) => rounds.map((r) => r[w][load]);
  const medianOf = (w: Workers, load: Load) => median(of(w, load).map((m) => m.rps));
  const ratios = (load: Load) => rounds.map((r) => round(r[2][load].rps / r[1][load].rps, 2));
  const failed = rounds.flatMap((r, i) => SETTINGS.flatMap((w) => LOADS.filter((load) => r[w][load].unexpected > 0).map((load) => `round ${i + 1}, WORKERS=${w}, ${load}: ${r[w][load].unexpected} unexpected, first: ${r[w][load].firstUnexpected}`)));
  const cores = (w: Workers, load: Load, pick: (m: Measurement) => number) => median(of(w, load).map(pick));
  const rows = LOADS.map((load) => {
    const ratio = medianOf(2, load) / medianOf(1, load);
    const latency = (w: Workers) => `${round(median(of(w, load).map((m) => m.p50Us)) / 1000, 2)} / ${round(median(of(w, load).map((m) => m.p99Us)) / 1000, 2)}`;
    return [
      load === "get" ? "GetUserByID (GET /v2/users/{id})" : "lock/unlock (POST /v2/users/{id}/lock, /unlock)",
      medianOf(1, load),
      medianOf(2, load),
      `${round(ratio, 2)}×`,
      ratios(load).map((x) => `${x}×`).join(", "),
      pass(ratio >= TARGET),
      `${cores(1, load, (m) => m.serverCores)} / ${cores(2, load, (m) => m.serverCores)}`,
      `${cores(1, load, (m) => m.wrkCores)} / ${cores(2, load, (m) => m.wrkCores)}`,
      `${latency(1)}; ${latency(2)}`,
      `${of(1, load).reduce((n, m) => n + m.non2xx, 0)} / ${of(2, load).reduce((n, m) => n + m.non2xx, 0)}`,
    ];
  });
  o.print(
    `WORKERS=2 against WORKERS=1 (${o.backend}, ${o.users} users, wrk over ${o.connections} HTTP/1.1 connections, unpinned, median of ${o.rounds} alternating rounds of ${o.durationS} s)`,
    table(["load", "WORKERS=1 req/s", "WORKERS=2 req/s", "2 ÷ 1", "each round", `≥ ${TARGET}×`, "server cores 1 / 2", "wrk cores 1 / 2", "p50 / p99 ms, 1; 2", "non-2xx 1 / 2"], rows) +
      (failed.length ? `\n\nFAILED rounds (answers the script did not expect):\n${failed.join("\n")}` : ""),
  );
  o.log(
    `wrote ${writeResult("workers", o.name, {
      ...o.header({ users: o.users, connections: o.connections }),
      how: {
        server: "node NODE_FLAGS dist/server.mjs (as npm start), unpinned, WORKERS=1 then 2 (alternating first), restarted for each; BENCH_NOOP=1, LOG_LEVEL default, stdout to /dev/null",
        load: `wrk -t C -c C --latency -s bench/wrk-users.lua, unpinned (it shares the cores with the server): GET /v2/users/{id} walking the users; POST /v2/users/{id}/lock then /unlock, each connection on users of its own`,
        cpu: "server: the primary's own CPU and each worker's with its children, from /proc; wrk: this process's ended children's CPU around its run",
      },
      target: `WORKERS=2 ≥ ${TARGET}× WORKERS=1 for each load`,
      medians: Object.fromEntries(LOADS.map((load) => [load, { workers1: medianOf(1, load), workers2: medianOf(2, load), ratio: round(medianOf(2, load) / medianOf(1, load), 3), eachRound: ratios(load) }])),
      failed,
      rounds,
    })}`,
  );
  if (failed.length) throw new Error(`workers: ${failed.length} measurement(s) had answers the script did not expect`);
}
