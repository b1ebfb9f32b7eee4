/**
 * Lock/unlock runs over gRPC (bench/load-grpc.ts with `record`) for the scenarios that check
 * what each acknowledged change caused elsewhere (watchers, delivery): the rate and latency, the
 * server's CPU and its own view, and every acknowledged change with its sequence and times.
 */
import { runNodeLoad } from "./load.js";
import { round, summarize, type Latency } from "./report.js";
import { between, scrape, type ServerView } from "./server-metrics.js";
import { cpuSeconds, type RunningServer } from "./server.js";

/** One run, with every acknowledged change: user, 1 for unlock, sequence, sent at, answered at (ms since the epoch). */
export interface LockRun {
  rps: number;
  ok: number;
  errors: number;
  firstError?: string;
  latencyMs: Latency;
  serverCpuCores: number;
  loadCpuCores?: number;
  server: ServerView;
  elapsedS: number;
  /** When the load generator finished, ms since the epoch. */
  endedAt: number;
  calls: number[];
}

export interface LockRunOptions {
  seconds: number;
  /** Calls a second (open loop); without it a closed loop of `connections` streams. */
  rate?: number;
  /** A closed loop ends after about this many calls, if that comes before `seconds`. */
  calls?: number;
  connections: number;
}

/** A scenario that runs on a session of its own (a server on a fresh, seeded database), as run.ts hands it over. */
export interface SessionScenario<S> {
  users: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  /** gRPC streams of a closed-loop lock/unlock run. */
  connections: number;
  open(): Promise<S>;
  close(s: S): Promise<void>;
  log(msg: string): void;
  print(title: string, text: string): void;
  header(extra?: object): object;
  /** Names the RPC path in titles, and the results file's suffix. */
  tag: string;
  resultName: string;
}

export async function recordedLocks(s: { server: RunningServer; idsFile: string }, o: LockRunOptions): Promise<LockRun> {
  const scraped = await scrape(s.server.baseUrl);
  const cpu0 = cpuSeconds(s.server.pid);
  const t0 = performance.now();
  const out = await runNodeLoad<{ ok: number; errors: number; rps: number; latencies: number[]; firstError?: string; cpuCores?: number; calls: number[] }>(
    "load-grpc.ts",
    {
      url: s.server.baseUrl,
      token: s.server.token,
      idsFile: s.idsFile,
      durationS: o.seconds,
      op: "lockunlock",
      mode: o.rate ? "rate" : "closed",
      rate: o.rate,
      calls: o.calls,
      concurrency: o.connections,
      connections: Math.min(4, o.connections),
      record: true,
    },
    o.seconds + 120,
  );
  const elapsedS = (performance.now() - t0) / 1000;
  return {
    rps: round(out.rps),
    ok: out.ok,
    errors: out.errors,
    firstError: out.firstError,
    latencyMs: summarize(out.latencies),
    serverCpuCores: round((cpuSeconds(s.server.pid) - cpu0) / elapsedS, 2),
    loadCpuCores: out.cpuCores === undefined ? undefined : round(out.cpuCores, 2),
    server: between(scraped, await scrape(s.server.baseUrl), elapsedS),
    elapsedS,
    endedAt: performance.timeOrigin + performance.now(),
    calls: out.calls,
  };
}

/** The server's CPU time per lock/unlock of a run (whatever else it did meanwhile included). */
export const perCallUs = (run: LockRun) => round((run.serverCpuCores / run.rps) * 1e6, 0);
