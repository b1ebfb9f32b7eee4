/**
 * The server's own view of a measurement, from its Prometheus endpoint read before and after:
 * how long calls took inside the server (request headers in → answer sent, all methods) and how
 * much of the time went to garbage collection. Set beside the load generator's latencies, it
 * tells a tail the server causes from one the load generator or the machine adds.
 */
import { request } from "node:http";

/** Cumulative counters read from one scrape. */
interface Scrape {
  /** rpc_call_duration_seconds buckets summed over methods: upper bound (s) → calls. */
  callBuckets: Map<number, number>;
  /** nodejs_gc_duration_seconds, all kinds: seconds, and collections longer than 10 ms. */
  gcSeconds: number;
  gcOver10ms: number;
  /** Time between event-loop timer ticks since the previous scrape (prom-client resets its monitor on each). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** V8's heap: live and dead objects, and what it holds from the system for them. */
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** store_commits: transactions and the writes they held since start (SQLite only). */
  transactions: number;
  writes: number;
}

export interface ServerView {
  calls: number;
  /** Share of calls the server finished within 10 ms, and within 5 ms. */
  within10msShare: number;
  within5msShare: number;
  /** The histogram bucket the server-side p99 falls in, as its upper bound (ms). */
  p99AtMostMs: number;
  /** Milliseconds of collection pauses per second of the measurement. */
  gcMsPerS: number;
  gcOver10ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** V8's heap at the end: used (live and not yet collected) and total (held from the system), MiB. */
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** Writes per group-commit transaction (SQLite; NaN elsewhere): the fewer, the more each write pays of a transaction and its fdatasync. */
  writesPerTransaction: number;
}

function get(baseUrl: string, path: string): Promise<string> {
  return new Promise((done, fail) => {
    const req = request(new URL(path, baseUrl), { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? done(body) : fail(new Error(`${path}: HTTP ${res.statusCode}`))));
    });
    req.on("error", fail);
    req.end();
  });
}

/**
 * prom-client samples the event loop with a 10 ms timer (its default precision) and reports
 * the time between ticks: the delay is what exceeds the timer.
 */
const LOOP_TIMER_MS = 10;

const SAMPLE = /^(\w+)(?:\{([^}]*)\})? (\S+)$/;

export async function scrape(baseUrl: string): Promise<Scrape> {
  const s: Scrape = { callBuckets: new Map(), gcSeconds: 0, gcOver10ms: 0, loopDelayP99Ms: NaN, loopDelayMaxMs: NaN, heapUsedMiB: NaN, heapTotalMiB: NaN, transactions: NaN, writes: NaN };
  let gcCount = 0;
  let gcWithin10ms = 0;
  for (const line of (await get(baseUrl, "/metrics")).split("\n")) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, labels = "", raw] = m;
    const value = Number(raw);
    const le = /le="([^"]+)"/.exec(labels)?.[1];
    if (name === "rpc_call_duration_seconds_bucket" && le) {
      const bound = le === "+Inf" ? Infinity : Number(le);
      s.callBuckets.set(bound, (s.callBuckets.get(bound) ?? 0) + value);
    } else if (name === "nodejs_gc_duration_seconds_count") gcCount += value;
    else if (name === "nodejs_gc_duration_seconds_sum") s.gcSeconds += value;
    else if (name === "nodejs_gc_duration_seconds_bucket" && le === "0.01") gcWithin10ms += value;
    else if (name === "nodejs_eventloop_lag_p99_seconds") s.loopDelayP99Ms = value * 1000;
    else if (name === "nodejs_eventloop_lag_max_seconds") s.loopDelayMaxMs = value * 1000;
    else if (name === "nodejs_heap_size_used_bytes") s.heapUsedMiB = Math.round(value / 2 ** 20);
    else if (name === "nodejs_heap_size_total_bytes") s.heapTotalMiB = Math.round(value / 2 ** 20);
    else if (name === "store_commits" && labels === 'what="transactions"') s.transactions = value;
    else if (name === "store_commits" && labels === 'what="writes"') s.writes = value;
  }
  s.gcOver10ms = gcCount - gcWithin10ms;
  return s;
}

/** What happened between two scrapes taken `seconds` apart. */
export function between(before: Scrape, after: Scrape, seconds: number): ServerView {
  const bounds = [...after.callBuckets.keys()].sort((a, b) => a - b);
  const delta = (bound: number) => (after.callBuckets.get(bound) ?? 0) - (before.callBuckets.get(bound) ?? 0);
  const calls = delta(Infinity);
  const p99Bound = bounds.find((b) => delta(b) >= 0.99 * calls) ?? Infinity;
  const share = (bound: number) => (calls ? Math.round((10_000 * delta(bound)) / calls) / 10_000 : NaN);
  return {
    calls,
    within10msShare: share(0.01),
    within5msShare: share(0.005),
    p99AtMostMs: p99Bound * 1000,
    gcMsPerS: Math.round(((after.gcSeconds - before.gcSeconds) * 1000 * 10) / seconds) / 10,
    gcOver10ms: after.gcOver10ms - before.gcOver10ms,
    loopDelayP99Ms: Math.round((after.loopDelayP99Ms - LOOP_TIMER_MS) * 100) / 100,
    loopDelayMaxMs: Math.round((after.loopDelayMaxMs - LOOP_TIMER_MS) * 100) / 100,
    heapUsedMiB: after.heapUsedMiB,
    heapTotalMiB: after.heapTotalMiB,
    writesPerTransaction: Math.round(((after.writes - before.writes) / (after.transactions - before.transactions)) * 10) / 10,
  };
}
