/**
 * The watchers scenario (issue 21): `npm run bench -- --scenario watchers`. 1,000 watchers
 * (Connect JSON and gRPC mixed, one user each, plus a few of the whole organization) while
 * locks and unlocks run at half the maximum rate: how soon each event reaches each of its
 * watchers, whether any is lost or repeated, and what the watchers cost the lock/unlock
 * throughput and the server's memory, all as ratios within one run.
 *
 * Two servers on databases seeded alike: the watchers only ever watch one of them; the other,
 * "bare", never has any. Each round:
 *   half rate: lock/unlock at half the first round's maximum (open loop) on the bare server, then
 *      the watchers are opened (bench/load-watchers.ts, its own process on the load's core) and
 *      the same rate runs on the watched server: how soon each event reaches its watchers;
 *   maximum: PAIRS closed-loop runs (`connections` gRPC streams) on each server, back to back in
 *      pairs, the order alternating; then the watchers are closed.
 * This machine's speed moves 1.5–2× within minutes, more than the watchers cost, so the target is
 * judged on each pair's own ratio (bench/FINDINGS.md, "watchers in pairs").
 * Locks and unlocks go over gRPC (bench/load-grpc.ts), which records every acknowledged change
 * with the sequence it answered and when it was sent and answered. A delivery's delay is its
 * receipt by the watcher minus the answer's arrival at the load generator (both on this machine's
 * clock; negative when the event reached the watcher before the answer reached its caller).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lineChild } from "./line-child.js";
import { perCallUs, recordedLocks, type LockRun, type SessionScenario } from "./recorded-locks.js";
import { median, pass, round, summarize, table, writeResult } from "./report.js";
import type { Instance } from "./seed.js";
import { memoryMiB, type RunningServer } from "./server.js";

/** What the scenario needs of run.ts's session: a server on a fresh, seeded database. */
export interface WatchSession {
  server: RunningServer;
  instance: Instance;
  idsFile: string;
  db: { dataDir: string };
}

export interface WatchersContext extends SessionScenario<WatchSession> {
  watchers: number;
  orgWatchers: number;
}

/** The targets of issue 21. */
const DELIVERY_MS = 250;
const DELIVERED_SHARE = 0.99;
const THROUGHPUT_RATIO = 0.8;
const MEMORY_MIB = 200;
/** HTTP/2 connections the gRPC watchers share (the server allows 100 streams a connection). */
const GRPC_CONNECTIONS = 10;
/**
 * Paired measures of the maximum a round, each pair the server without watchers and the one with
 * them, back to back: this machine's speed moves more within a minute than the watchers cost
 * (bench/FINDINGS.md, "watchers in pairs"), so each pair is judged by itself.
 */
const PAIRS = 5;
/** Seconds for every watcher to have its first message: the server's first heartbeat comes after WATCH_HEARTBEAT_MS (15 s). */
const READY_TIMEOUT_S = 60;

/** A lock/unlock run of the watchers scenario: `connections` gRPC streams, or `rate` calls a second. */
const locks = (ctx: WatchersContext, s: WatchSession, seconds: number, rate?: number): Promise<LockRun> => recordedLocks(s, { seconds, rate, connections: ctx.connections });

/** The server's largest resident memory while `during` runs, sampled every 250 ms. */
async function peakRss<T>(pid: number, during: () => Promise<T>): Promise<{ result: T; peakRssMiB: number }> {
  let peak = memoryMiB(pid)?.vmRssMiB ?? NaN;
  const timer = setInterval(() => (peak = Math.max(peak, memoryMiB(pid)?.vmRssMiB ?? NaN)), 250);
  try {
    const result = await during();
    peak = Math.max(peak, memoryMiB(pid)?.vmRssMiB ?? NaN);
    return { result, peakRssMiB: peak };
  } finally {
    clearInterval(timer);
  }
}

interface WatchersSummary {
  opened: number;
  openMs: number;
  /** Events received, all watchers. */
  received: number;
  heartbeats: number;
  ended: { watcher: number; code: string; message: string }[];
  cpuCores: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  rssMiB: number;
}

/** bench/load-watchers.ts, started and subscribed: `stop()` closes the watchers and hands back their receipts. */
async function openWatchers(ctx: WatchersContext, s: WatchSession, receiptsFile: string): Promise<{ openMs: number; stop(): Promise<WatchersSummary & { receipts: Float64Array }> }> {
  const config = {
    url: s.server.baseUrl,
    token: s.server.token,
    idsFile: s.idsFile,
    orgId: s.instance.orgId,
    watchers: ctx.watchers,
    orgWatchers: ctx.orgWatchers,
    grpcConnections: GRPC_CONNECTIONS,
    receiptsFile,
    readyTimeoutS: READY_TIMEOUT_S,
  };
  const child = lineChild("load-watchers.ts", [JSON.stringify(config)]);
  const next = () => child.next();
  const ready = await next();
  if (ready.ready !== true) {
    child.kill("SIGKILL");
    throw new Error(`only ${String(ready.opened)} of ${ctx.watchers + ctx.orgWatchers} watchers opened within ${READY_TIMEOUT_S} s (${String(ready.ended)} ended):\n${child.stderr()}`);
  }
  return {
    openMs: ready.openMs as number,
    async stop() {
      child.end("stop\n");
      const summary = (await next()) as unknown as WatchersSummary;
      await child.exited;
      // A copy: a Float64Array needs its own 8-byte-aligned buffer.
      return { ...summary, receipts: new Float64Array(new Uint8Array(readFileSync(receiptsFile)).buffer) };
    },
  };
}

/** A B phase's calls by (user, sequence), and each user's acknowledged sequences in order. */
class Acknowledged {
  readonly byUser = new Map<number, number[]>();
  private readonly call = new Map<number, { answeredAt: number; sentAt: number; run: number }>();

  add(calls: number[], run: number): void {
    for (let i = 0; i < calls.length; i += 5) {
      const [user, , sequence, sentAt, answeredAt] = calls.slice(i, i + 5) as [number, number, number, number, number];
      this.call.set(Acknowledged.key(user, sequence), { sentAt, answeredAt, run });
      let list = this.byUser.get(user);
      if (!list) this.byUser.set(user, (list = []));
      list.push(sequence);
    }
    for (const list of this.byUser.values()) list.sort((a, b) => a - b);
  }

  get(user: number, sequence: number) {
    return this.call.get(Acknowledged.key(user, sequence));
  }

  /** Acknowledged changes of `run`, per user. */
  countOf(run: number): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [key, c] of this.call) if (c.run === run) counts.set(Math.floor(key / SEQUENCES), (counts.get(Math.floor(key / SEQUENCES)) ?? 0) + 1);
    return counts;
  }

  private static key = (user: number, sequence: number) => user * SEQUENCES + sequence;
}
const SEQUENCES = 2 ** 24;

/** What the watchers received, set against what was acknowledged: losses, repeats, delays. */
interface Deliveries {
  /** Deliveries the half-rate run's changes owed (each change to each of its watchers), and those made within DELIVERY_MS. */
  owed: number;
  withinTarget: number;
  /** Delay from the answer's arrival, ms, over the half-rate run's deliveries; by watcher kind and protocol. */
  fromAnswer: number[];
  fromSent: number[];
  byGroup: Record<string, number[]>;
  /** Delay from the answer at the maximum rate. */
  atMaximum: number[];
  /** Acknowledged changes a watcher still open at the end never received. */
  lost: number;
  /** Those a watcher that the server ended early (ResourceExhausted) did not receive: by design, it resumes from the position it was given. */
  missedByEnded: number;
  repeated: number;
  /** Events received that were not acknowledged changes of a watched user. */
  unexpected: number;
  outOfOrder: number;
  /** Watchers with any loss, repeat, unexpected or out-of-order event. */
  watchersWrong: number;
}

/** The runs of a B phase, as Acknowledged records them. */
const HALF = 0;
const WARM_UP = 1;
const MAXIMUM = 2;

function check(ctx: WatchersContext, receipts: Float64Array, ack: Acknowledged, endedEarly: Set<number>): Deliveries {
  const users = ctx.users;
  const d: Deliveries = { owed: 0, withinTarget: 0, fromAnswer: [], fromSent: [], byGroup: {}, atMaximum: [], lost: 0, missedByEnded: 0, repeated: 0, unexpected: 0, outOfOrder: 0, watchersWrong: 0 };
  /** Per watcher, per user: the sequences received in order. */
  const got = new Map<number, Map<number, number[]>>();
  for (let i = 0; i < receipts.length; i += 4) {
    const watcher = receipts[i]!;
    const user = receipts[i + 1]!;
    const sequence = receipts[i + 2]!;
    const at = receipts[i + 3]!;
    let perUser = got.get(watcher);
    if (!perUser) got.set(watcher, (perUser = new Map()));
    let list = perUser.get(user);
    if (!list) perUser.set(user, (list = []));
    list.push(sequence);
    const call = ack.get(user, sequence);
    if (call?.run === HALF) {
      const group = `${watcher < ctx.watchers ? "one user" : "organization"}, ${(watcher < ctx.watchers ? watcher : watcher - ctx.watchers) % 2 === 0 ? "Connect" : "gRPC"}`;
      const delay = at - call.answeredAt;
      d.fromAnswer.push(delay);
      d.fromSent.push(at - call.sentAt);
      (d.byGroup[group] ??= []).push(delay);
      // Its first receipt only: repeats are counted apart.
      if (delay <= DELIVERY_MS && list.indexOf(sequence) === list.length - 1) d.withinTarget++;
    } else if (call?.run === MAXIMUM) d.atMaximum.push(at - call.answeredAt);
  }
  const halfCounts = ack.countOf(HALF);
  for (let w = 0; w < ctx.watchers + ctx.orgWatchers; w++) {
    const watched = w < ctx.watchers ? [w % users] : [...ack.byUser.keys()];
    let wrong = false;
    for (const user of watched) {
      const expected = ack.byUser.get(user) ?? [];
      const received = got.get(w)?.get(user) ?? [];
      const distinct = new Set(received);
      const acknowledged = new Set(expected);
      const lost = expected.filter((q) => !distinct.has(q)).length;
      const unexpected = [...distinct].filter((q) => !acknowledged.has(q)).length;
      const outOfOrder = received.filter((q, i) => i > 0 && q <= received[i - 1]!).length;
      if (endedEarly.has(w)) d.missedByEnded += lost;
      else d.lost += lost;
      d.repeated += received.length - distinct.size;
      d.unexpected += unexpected;
      d.outOfOrder += outOfOrder;
      d.owed += halfCounts.get(user) ?? 0;
      if ((lost && !endedEarly.has(w)) || unexpected || outOfOrder || received.length !== distinct.size) wrong = true;
    }
    // A watcher of one user handed another user's event.
    for (const [user, received] of got.get(w) ?? []) {
      if (watched.includes(user)) continue;
      d.unexpected += received.length;
      wrong = true;
    }
    if (wrong) d.watchersWrong++;
  }
  return d;
}

/** One paired measure of the maximum: the bare server's and the watched server's, back to back. */
interface Pair {
  without: LockRun;
  with: LockRun;
  withFirst: boolean;
}

interface Round {
  halfWithout: LockRun;
  halfWith: LockRun;
  pairs: Pair[];
  /** The bare server's peak over the round, and the watched server's while its watchers were open. */
  peakRssWithoutMiB: number;
  peakRssWithMiB: number;
  /** The watched server's RSS once every watcher is subscribed, before its runs. */
  rssOpenedMiB?: number;
  watchers: WatchersSummary;
  deliveries: Deliveries;
}

const strip = (r: LockRun) => ({ ...r, calls: r.calls.length / 5 });
const sliceSeconds = (ctx: WatchersContext) => Math.max(2, ctx.durationS / 2);
const medianOf = <T>(xs: T[], f: (x: T) => number) => median(xs.map(f));
const pairRatio = (p: Pair) => p.with.rps / p.without.rps;
const pairCpuRatio = (p: Pair) => perCallUs(p.without) / perCallUs(p.with);

export async function watchers(ctx: WatchersContext): Promise<void> {
  // Two servers on databases seeded alike: the watchers only ever watch `s`; `bare` never has any.
  const s = await ctx.open();
  const bare = await ctx.open();
  const rounds: Round[] = [];
  const sliceS = sliceSeconds(ctx);
  let rate = 0;
  try {
    for (let r = 1; r <= ctx.rounds; r++) {
      const name = `watchers${ctx.tag}, round ${r}/${ctx.rounds}`;
      const ack = new Acknowledged();
      let rssOpenedMiB: number | undefined;
      const bareRound = await peakRss(bare.server.pid, async () => {
        if (ctx.warmupS > 0) await locks(ctx, bare, ctx.warmupS);
        if (rate === 0) {
          ctx.log(`${name}: lock/unlock at the maximum without watchers, ${ctx.durationS} s, for the half rate`);
          rate = Math.max(1, Math.floor((await locks(ctx, bare, ctx.durationS)).rps / 2));
        }
        ctx.log(`${name}: at ${rate}/s without watchers, ${ctx.durationS} s`);
        const halfWithout = await locks(ctx, bare, ctx.durationS, rate);
        ctx.log(`${name}: p99 ${halfWithout.latencyMs.p99} ms; opening ${ctx.watchers} watchers of one user and ${ctx.orgWatchers} of the organization`);
        const watching = await openWatchers(ctx, s, join(s.db.dataDir, `receipts-${r}.f64`));
        rssOpenedMiB = memoryMiB(s.server.pid)?.vmRssMiB;
        ctx.log(`${name}: every watcher subscribed after ${round(watching.openMs / 1000)} s; server RSS ${rssOpenedMiB} MiB; at ${rate}/s with watchers, ${ctx.durationS} s`);
        const withWatchers = await peakRss(s.server.pid, async () => {
          const halfWith = await locks(ctx, s, ctx.durationS, rate);
          ack.add(halfWith.calls, HALF);
          ctx.log(`${name}: p99 ${halfWith.latencyMs.p99} ms; the maximum in ${PAIRS} pairs of ${sliceS} s without and with watchers`);
          if (ctx.warmupS > 0) {
            ack.add((await locks(ctx, s, ctx.warmupS)).calls, WARM_UP);
            await locks(ctx, bare, ctx.warmupS);
          }
          const pairs: Pair[] = [];
          for (let p = 0; p < PAIRS; p++) {
            // Alternating within the round and between rounds: neither side always goes first.
            const withFirst = (p + r) % 2 === 0;
            const measureWith = async () => {
              const run = await locks(ctx, s, sliceS);
              ack.add(run.calls, MAXIMUM);
              return run;
            };
            const first = withFirst ? await measureWith() : await locks(ctx, bare, sliceS);
            const second = withFirst ? await locks(ctx, bare, sliceS) : await measureWith();
            pairs.push(withFirst ? { with: first, without: second, withFirst } : { without: first, with: second, withFirst });
          }
          ctx.log(`${name}: with ÷ without ${pairs.map((p) => `${p.with.rps}/${p.without.rps}`).join(", ")} req/s`);
          return { halfWith, pairs, watchers: await watching.stop() };
        });
        return { halfWithout, withWatchers };
      });
      const { halfWithout, withWatchers } = bareRound.result;
      const { receipts, ...summary } = withWatchers.result.watchers;
      const deliveries = check(ctx, receipts, ack, new Set(summary.ended.map((e) => e.watcher)));
      const share = deliveries.withinTarget / deliveries.owed;
      ctx.log(`${name}: ${round(share * 100, 2)}% of ${deliveries.owed} deliveries within ${DELIVERY_MS} ms; lost ${deliveries.lost}, repeated ${deliveries.repeated}, watchers ended early ${summary.ended.length}`);
      rounds.push({
        halfWithout,
        halfWith: withWatchers.result.halfWith,
        pairs: withWatchers.result.pairs,
        peakRssWithoutMiB: bareRound.peakRssMiB,
        peakRssWithMiB: withWatchers.peakRssMiB,
        rssOpenedMiB,
        watchers: summary,
        deliveries,
      });
    }
  } finally {
    await ctx.close(bare);
    await ctx.close(s);
  }
  report(ctx, rounds, rate);
}

function report(ctx: WatchersContext, rounds: Round[], rate: number): void {
  const all = <T>(f: (r: Round) => T[]) => rounds.flatMap(f);
  const owed = rounds.reduce((n, r) => n + r.deliveries.owed, 0);
  const within = rounds.reduce((n, r) => n + r.deliveries.withinTarget, 0);
  const share = within / owed;
  const fromAnswer = summarize(all((r) => r.deliveries.fromAnswer));
  const fromSent = summarize(all((r) => r.deliveries.fromSent));
  const atMaximum = summarize(all((r) => r.deliveries.atMaximum));
  const groups = [...new Set(all((r) => Object.keys(r.deliveries.byGroup)))].sort();
  const byGroup = Object.fromEntries(groups.map((g) => [g, summarize(all((r) => r.deliveries.byGroup[g] ?? []))]));
  const pairs = all((r) => r.pairs);
  const maxWithout = median(pairs.map((p) => p.without.rps));
  const maxWith = median(pairs.map((p) => p.with.rps));
  // Each pair's two measures are seconds apart; pairs further apart differ more than the
  // watchers cost (PAIRS), so the target is judged on the median of the pairs' own ratios.
  const ratio = median(pairs.map(pairRatio));
  const cpuRatio = median(pairs.map(pairCpuRatio));
  const first = rounds[0]!;
  const memory = first.peakRssWithMiB - first.peakRssWithoutMiB;
  const sum = (f: (d: Deliveries) => number) => rounds.reduce((n, r) => n + f(r.deliveries), 0);
  const wrong = { lost: sum((d) => d.lost), missedByEnded: sum((d) => d.missedByEnded), repeated: sum((d) => d.repeated), unexpected: sum((d) => d.unexpected), outOfOrder: sum((d) => d.outOfOrder), watchers: sum((d) => d.watchersWrong) };
  const endedEarly = rounds.reduce((n, r) => n + r.watchers.ended.length, 0);
  const each = (f: (r: Round) => string | number) => rounds.map(f).join(", ");
  const halfLatency = (k: "halfWithout" | "halfWith") => `p50 ${median(rounds.map((r) => r[k].latencyMs.p50))}, p99 ${median(rounds.map((r) => r[k].latencyMs.p99))}`;
  const rows: (string | number)[][] = [
    [`deliveries within ${DELIVERY_MS} ms of the answer (half rate)`, `${round(share * 100, 2)}% of ${owed} (each round: ${each((r) => `${round((100 * r.deliveries.withinTarget) / r.deliveries.owed, 2)}%`)})`, `≥ ${DELIVERED_SHARE * 100}%`, pass(share >= DELIVERED_SHARE)],
    ["delivery delay from the answer, ms", `p50 ${fromAnswer.p50}, p95 ${fromAnswer.p95}, p99 ${fromAnswer.p99}, max ${fromAnswer.max}`, "", ""],
    ["delivery delay from the call's sending, ms", `p50 ${fromSent.p50}, p99 ${fromSent.p99}`, "", ""],
    ...groups.map((g) => [`  watchers of ${g}, from the answer`, `p50 ${byGroup[g]!.p50}, p99 ${byGroup[g]!.p99} (${byGroup[g]!.count})`, "", ""]),
    ["delivery delay at the maximum rate, from the answer", `p50 ${atMaximum.p50}, p99 ${atMaximum.p99}`, "", ""],
    [
      `lock/unlock maximum with ÷ without watchers: median of the ${pairs.length} pairs' ratios (each round's pairs; medians' ratio)`,
      `${round(ratio * 100)}% (${rounds.map((r) => r.pairs.map((p) => round(pairRatio(p) * 100)).join(" ")).join("; ")}; ${maxWith} / ${maxWithout} req/s = ${round((100 * maxWith) / maxWithout)}%)`,
      `≥ ${THROUGHPUT_RATIO * 100}%`,
      pass(ratio >= THROUGHPUT_RATIO),
    ],
    [`lock/unlock at ${rate}/s, ms`, `without: ${halfLatency("halfWithout")}; with: ${halfLatency("halfWith")}`, "", ""],
    ["server RSS, peak with − without (round 1)", `${round(first.peakRssWithMiB)} − ${round(first.peakRssWithoutMiB)} = ${round(memory)} MiB (all watchers subscribed: ${first.rssOpenedMiB} MiB)`, `≤ ${MEMORY_MIB} MiB`, pass(memory <= MEMORY_MIB)],
    ["events lost / repeated / unacknowledged / out of order", `${wrong.lost} / ${wrong.repeated} / ${wrong.unexpected} / ${wrong.outOfOrder} (watchers with any: ${wrong.watchers})`, "0", pass(wrong.lost + wrong.repeated + wrong.unexpected + wrong.outOfOrder === 0)],
    ["watchers ended early, and the events they did not get", `${endedEarly} (${wrong.missedByEnded})${endedEarly ? ` (${rounds.flatMap((r) => r.watchers.ended).slice(0, 3).map((e) => `${e.code}: ${e.message}`).join("; ")})` : ""}`, "0", pass(endedEarly === 0)],
    ["server cores at half rate, without / with", `${each((r) => `${r.halfWithout.serverCpuCores} / ${r.halfWith.serverCpuCores}`)}`, "", ""],
    ["server CPU µs a lock/unlock at half rate, without / with", `${each((r) => `${perCallUs(r.halfWithout)} / ${perCallUs(r.halfWith)}`)}`, "", ""],
    [
      "server CPU µs a lock/unlock at the maximum, without / with, each pair (the median of the pairs' ratios: the throughput ratio if only the server's CPU limited both)",
      `${pairs.map((p) => `${perCallUs(p.without)} / ${perCallUs(p.with)}`).join(", ")} (${round(cpuRatio * 100)}%)`,
      "",
      "",
    ],
    ["server heap used / total MiB after each round's half rate and last pair, without; with", each((r) => [r.halfWithout, r.pairs.at(-1)!.without, r.halfWith, r.pairs.at(-1)!.with].map((m) => `${m.server.heapUsedMiB}/${m.server.heapTotalMiB}`).join(" ")), "", ""],
    [
      "writes per group-commit transaction: at half rate without / with; at the maximum without / with (median pair)",
      each((r) => `${r.halfWithout.server.writesPerTransaction} / ${r.halfWith.server.writesPerTransaction}; ${medianOf(r.pairs, (p) => p.without.server.writesPerTransaction)} / ${medianOf(r.pairs, (p) => p.with.server.writesPerTransaction)}`),
      "",
      "",
    ],
    ["server: GC ms/s and event-loop p99 at half rate, without / with", `${each((r) => `${r.halfWithout.server.gcMsPerS}, ${r.halfWithout.server.loopDelayP99Ms} / ${r.halfWith.server.gcMsPerS}, ${r.halfWith.server.loopDelayP99Ms}`)}`, "", ""],
    ["server: GC ms/s and event-loop p99 at the maximum, without / with (median pair)", each((r) => `${medianOf(r.pairs, (p) => p.without.server.gcMsPerS)}, ${medianOf(r.pairs, (p) => p.without.server.loopDelayP99Ms)} / ${medianOf(r.pairs, (p) => p.with.server.gcMsPerS)}, ${medianOf(r.pairs, (p) => p.with.server.loopDelayP99Ms)}`), "", ""],
    ["pairs measured with the watchers first", `${pairs.filter((p) => p.withFirst).length} of ${pairs.length}`, "", ""],
    ["watcher process: cores, event-loop p99 / max ms", each((r) => `${round(r.watchers.cpuCores, 2)}, ${round(r.watchers.loopDelayP99Ms, 1)} / ${round(r.watchers.loopDelayMaxMs, 1)}`), "", ""],
    ["lock generator cores at the maximum, without / with (median pair)", each((r) => `${medianOf(r.pairs, (p) => p.without.loadCpuCores ?? NaN)} / ${medianOf(r.pairs, (p) => p.with.loadCpuCores ?? NaN)}`), "", ""],
    ["errors (lock/unlock calls)", sumErrors(rounds), "0", pass(sumErrors(rounds) === 0)],
  ];
  ctx.print(
    `Watchers (${ctx.watchers} of one user each, Connect JSON and gRPC alternating, + ${ctx.orgWatchers} of the organization; ${ctx.users} users; lock/unlock over gRPC, ${ctx.connections} streams at the maximum, ${rate}/s at half; ${ctx.rounds} rounds: ${ctx.durationS} s at half rate, ${PAIRS} pairs of ${sliceSeconds(ctx)} s at the maximum)${ctx.tag}`,
    table(["measure", "result", "target", "met"], rows),
  );
  ctx.log(
    `wrote ${writeResult("watchers", ctx.resultName, {
      ...ctx.header({ watchers: ctx.watchers, orgWatchers: ctx.orgWatchers, grpcConnections: GRPC_CONNECTIONS }),
      how: {
        watchers: "bench/load-watchers.ts (bench/watch-streams.ts: node:http Connect JSON streams for even watchers, node:http2 gRPC streams over 10 connections for odd ones), taskset -c 1",
        locks: "bench/load-grpc.ts with record: open loop at half the first round's maximum, then closed-loop pairs at the maximum on the server without watchers (a second server, its database seeded alike) and the one with them, back to back, the order alternating; each acknowledged change's sequence, sending and answer times",
        delay: "receipt at the watcher − the answer's arrival at the lock generator (ms since the epoch in both processes)",
        memory: "VmRSS sampled every 250 ms: the bare server's peak over round 1, the watched server's over its runs with the watchers open",
      },
      rate,
      targets: { deliveredWithinMs: DELIVERY_MS, deliveredShare: DELIVERED_SHARE, throughputRatio: THROUGHPUT_RATIO, memoryMiB: MEMORY_MIB },
      summary: { deliveredShare: round(share, 4), owed, fromAnswer, fromSent, byGroup, atMaximum, maxWithout, maxWith, ratio: round(ratio, 3), pairRatios: pairs.map((p) => round(pairRatio(p), 3)), cpuRatio: round(cpuRatio, 3), memoryMiB: round(memory), wrong, endedEarly },
      rounds: rounds.map((r) => ({
        halfWithout: strip(r.halfWithout),
        halfWith: strip(r.halfWith),
        pairs: r.pairs.map((p) => ({ withFirst: p.withFirst, without: strip(p.without), with: strip(p.with) })),
        peakRssWithoutMiB: r.peakRssWithoutMiB,
        peakRssWithMiB: r.peakRssWithMiB,
        rssOpenedMiB: r.rssOpenedMiB,
        watchers: r.watchers,
        deliveries: { ...r.deliveries, fromAnswer: summarize(r.deliveries.fromAnswer), fromSent: summarize(r.deliveries.fromSent), atMaximum: summarize(r.deliveries.atMaximum), byGroup: undefined },
      })),
    })}`,
  );
}


function sumErrors(rounds: Round[]): number {
  return rounds.reduce((n, r) => n + r.halfWithout.errors + r.halfWith.errors + r.pairs.reduce((m, p) => m + p.without.errors + p.with.errors, 0), 0);
}
