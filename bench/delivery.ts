/**
 * The delivery scenario (issue 22): `npm run bench -- --scenario delivery`. Three receivers on
 * 127.0.0.1 (bench/delivery-receivers.ts, their own process on the load's core: an SSF push
 * stream, an SSF poll stream polled continuously, an Actions v2 target), attached to the server
 * as an operator attaches them (bench/delivery-wiring.ts), and three measurements, as ratios
 * and figures within one run:
 *
 * 1. Throughput: lock/unlock over gRPC at the maximum (closed loop, `connections` streams) with
 *    the receivers detached and attached, alternating which goes first each round (this machine
 *    drifts within minutes). With them, every delivery the run's calls owe is waited for
 *    afterwards: how many arrived during the run and how long the rest took are reported beside
 *    the rate, since a rate the deliveries cannot follow is a backlog, not a throughput.
 * 2. Latency: lock/unlock at half the first round's maximum without receivers (open loop), the
 *    receivers attached: each receipt's delay from the call's answer and from its sending, per
 *    receiver.
 * 3. Backlog: for each receiver alone, `backlog` deliveries are written while it is held back
 *    (the streams paused, the target's answers withheld by its receiver), then released; the rate
 *    is deliveries over the time from the release to the last receipt, the server on both cores.
 * 4. The floor under the first three: the CPU of one RS256 signature (bench/sign-floor.ts), and
 *    what signing alone would take at the rates the targets name.
 *
 * Every receipt is checked by its receiver (signatures) and set against the acknowledged calls
 * (bench/delivery-match.ts): lost, repeated, unasked for, out of a user's order.
 */
import { join } from "node:path";
import { callsOf, match, owed, readReceipts, type Call, type KindMatch } from "./delivery-match.js";
import { KINDS, type Kind } from "./delivery-kinds.js";
import { attach, pendingDeliveries, setStreamStatus, startReceivers, wire, type Receivers, type Target, type Wiring } from "./delivery-wiring.js";
import { readUserIds, type UserIds } from "./ids.js";
import { runNodeLoad } from "./load.js";
import { perCallUs, recordedLocks, type LockRun, type SessionScenario } from "./recorded-locks.js";
import { median, pass, round, summarize, table, writeResult, type Latency } from "./report.js";
import type { Instance } from "./seed.js";
import { cpuSeconds, pinTree, type RunningServer } from "./server.js";

/** What the scenario needs of run.ts's session: a server on a fresh, seeded database that allows http://127.0.0.1. */
export interface DeliverySession {
  server: RunningServer;
  instance: Instance;
  idsFile: string;
  db: { url: string; dataDir: string };
}

export interface DeliveryContext extends SessionScenario<DeliverySession> {
  /** Deliveries written while a receiver is held back, then drained. */
  backlog: number;
}

/** What bench/sign-floor.ts prints. */
interface SignFloor {
  signatures: number;
  cpuUsPerSignature: number;
  wallUsPerSignature: number;
}
/**
 * The server (and its delivery process) keeps core 0 while calls are measured, the load has core 1;
 * a drain has the whole machine, since nothing but the receiver runs then.
 */
const SERVER_CORE = "0";
const DRAIN_CORES = "0,1";
/** Signatures bench/sign-floor.ts times. */
const SIGN_FLOOR_COUNT = 3_000;

/** The targets of issue 22. */
const THROUGHPUT_RATIO = 0.9;
const LATENCY_P99_MS = 100;
const DRAIN_PER_S = 2_000;
/** Waiting for the deliveries a run owes, and for a backlog to drain, at most this long. */
const RECEIPTS_TIMEOUT_S = 600;
/** Filling a backlog takes at most this long (the held target's answers must come within its 270 s timeout). */
const FILL_TIMEOUT_S = 240;

const ALL: ReadonlySet<Kind> = new Set(KINDS);
const NONE: ReadonlySet<Kind> = new Set();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const epochNow = () => performance.timeOrigin + performance.now();

/** A lock/unlock run of this scenario: `connections` gRPC streams, or `rate` calls a second, or about `calls` calls. */
const locks = (ctx: DeliveryContext, s: DeliverySession, seconds: number, opts: { rate?: number; calls?: number } = {}): Promise<LockRun> =>
  recordedLocks(s, { seconds, ...opts, connections: ctx.connections });

interface ReceiverStatus {
  totals: Record<Kind, number>;
  rejected: number;
  firstRejection?: string;
  cpuCores: number;
  loopDelayP99Ms: number;
}

/** Waits until each receiver has at least `count` more receipts than `before` had; false on the timeout. */
async function receiptsIn(receivers: Receivers, before: ReceiverStatus, count: Map<Kind, number>, timeoutS: number): Promise<boolean> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const now = await receivers.command<ReceiverStatus>({ counts: true });
    if ([...count].every(([kind, n]) => now.totals[kind] - before.totals[kind] >= n)) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/** Waits until the outbox is empty (deliveries of earlier runs), at most `timeoutS`. */
async function outboxEmpty(baseUrl: string, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  while ((await pendingDeliveries(baseUrl)) > 0) {
    if (Date.now() > deadline) throw new Error(`the outbox still holds deliveries after ${timeoutS} s`);
    await sleep(200);
  }
}

/** The receivers' receipts since the last dump, matched against `calls`. */
async function matched(receivers: Receivers, s: DeliverySession, file: string, calls: readonly Call[], wiring: Wiring, kinds: readonly Kind[]) {
  const path = join(s.db.dataDir, file);
  const status = await receivers.command<ReceiverStatus & { dumped: number }>({ dump: path });
  return { status, byKind: match(readReceipts(path), owed(calls, wiring, kinds)) };
}

interface Round {
  maxWithout: LockRun;
  maxWith: LockRun;
  half: LockRun;
  /** Per receiver: from the end of the maximum run with receivers to its last receipt, s, and the share of its deliveries made during the run. */
  catchUpS: Record<Kind, number>;
  duringRunShare: Record<Kind, number>;
  /** Every owed receipt arrived (within RECEIPTS_TIMEOUT_S). */
  complete: boolean;
  maxMatch: Map<Kind, KindMatch>;
  halfMatch: Map<Kind, KindMatch>;
}

interface Drain {
  kind: Kind;
  fill: LockRun;
  deliveries: number;
  pendingAtRelease: number;
  receipts: number;
  seconds: number;
  deliveriesPerS: number;
  receiptsPerS: number;
  serverCores: number;
  serverCpuUsPerDelivery: number;
  /** Of it, the server's own process (the rest is its delivery process's). */
  mainCpuUsPerDelivery: number;
  /** Deliveries waiting, sampled every second from the release. */
  pending: number[];
  complete: boolean;
  match: KindMatch;
}

const latest = (xs: readonly number[]) => xs.reduce((a, b) => Math.max(a, b), -Infinity);

/** Runs `locks` with every receiver attached; waits for what the calls owe each; matches it. */
async function withReceivers(ctx: DeliveryContext, s: DeliverySession, ids: UserIds, receivers: Receivers, wiring: Wiring, file: string, runs: { name: string; seconds: number; rate?: number }[]) {
  const before = await receivers.command<ReceiverStatus>({ counts: true });
  const done: LockRun[] = [];
  for (const run of runs) done.push(await locks(ctx, s, run.seconds, { rate: run.rate }));
  const calls = runs.flatMap((run, i) => callsOf(done[i]!.calls, ids, run.name));
  const due = owed(calls, wiring, KINDS);
  const complete = await receiptsIn(receivers, before, new Map(KINDS.map((k) => [k, due.get(k)!.size])), RECEIPTS_TIMEOUT_S);
  const got = await matched(receivers, s, file, calls, wiring, KINDS);
  return { runs: done, complete, byKind: got.byKind };
}

export async function delivery(ctx: DeliveryContext): Promise<void> {
  const s = await ctx.open();
  const ids = readUserIds(s.idsFile);
  ctx.log(`delivery${ctx.tag}: the CPU of one RS256 signature (bench/sign-floor.ts)`);
  const signing = await runNodeLoad<SignFloor>("sign-floor.ts", { count: SIGN_FLOOR_COUNT }, 300);
  const receivers = await startReceivers();
  const target: Target = { baseUrl: s.server.baseUrl, adminToken: s.server.token, databaseUrl: s.db.url, orgId: s.instance.orgId };
  const rounds: Round[] = [];
  const drains: Drain[] = [];
  let rate = 0;
  let status: ReceiverStatus | undefined;
  try {
    const wiring = await wire(target, receivers);
    ctx.log(`delivery${ctx.tag}: push stream ${wiring.push.streamId}, poll stream ${wiring.poll.streamId}, target ${wiring.target.id}`);
    const warm = ctx.warmupS > 0 ? [{ name: "warm", seconds: ctx.warmupS }] : [];
    for (let r = 1; r <= ctx.rounds; r++) {
      const name = `delivery${ctx.tag}, round ${r}/${ctx.rounds}`;
      let maxWithout: LockRun | undefined;
      let max: Awaited<ReturnType<typeof withReceivers>> | undefined;
      for (const attached of r % 2 === 1 ? [false, true] : [true, false]) {
        await attach(target, wiring, attached ? ALL : NONE);
        await outboxEmpty(target.baseUrl, RECEIPTS_TIMEOUT_S);
        ctx.log(`${name}: lock/unlock at the maximum ${attached ? "with" : "without"} receivers, ${ctx.durationS} s`);
        if (attached) max = await withReceivers(ctx, s, ids, receivers, wiring, `max-${r}.txt`, [...warm, { name: "max", seconds: ctx.durationS }]);
        else {
          if (warm.length) await locks(ctx, s, ctx.warmupS);
          maxWithout = await locks(ctx, s, ctx.durationS);
        }
        const run = attached ? max!.runs.at(-1)! : maxWithout!;
        ctx.log(`${name}: ${run.rps} req/s, server ${run.serverCpuCores} cores`);
      }
      const maxWith = max!.runs.at(-1)!;
      const catchUpS = {} as Record<Kind, number>;
      const duringRunShare = {} as Record<Kind, number>;
      for (const kind of KINDS) {
        const arrivals = max!.byKind.get(kind)!.arrivals.max ?? [];
        catchUpS[kind] = round(Math.max(0, (latest(arrivals) - maxWith.endedAt) / 1000), 2);
        duringRunShare[kind] = round(arrivals.filter((at) => at <= maxWith.endedAt).length / Math.max(1, arrivals.length), 3);
      }
      ctx.log(`${name}: the run's deliveries caught up ${KINDS.map((k) => `${k} ${catchUpS[k]} s`).join(", ")} after it${max!.complete ? "" : " (NOT all arrived)"}`);

      rate ||= Math.max(1, Math.floor(maxWithout!.rps / 2));
      await attach(target, wiring, ALL);
      await outboxEmpty(target.baseUrl, RECEIPTS_TIMEOUT_S);
      ctx.log(`${name}: ${rate}/s with receivers, ${ctx.durationS} s`);
      const half = await withReceivers(ctx, s, ids, receivers, wiring, `half-${r}.txt`, [{ name: "half", seconds: ctx.durationS, rate }]);
      ctx.log(`${name}: p99 from the answer ${KINDS.map((k) => `${k} ${summarize(half.byKind.get(k)!.fromAnswer.half ?? []).p99} ms`).join(", ")}`);
      rounds.push({ maxWithout: maxWithout!, maxWith, half: half.runs[0]!, catchUpS, duringRunShare, complete: max!.complete && half.complete, maxMatch: max!.byKind, halfMatch: half.byKind });
    }
    for (const kind of KINDS) drains.push(await drain(ctx, s, ids, receivers, target, wiring, kind));
    status = await receivers.command<ReceiverStatus>({ counts: true });
  } finally {
    await receivers.stop();
    await ctx.close(s);
  }
  report(ctx, rounds, drains, rate, status!, signing);
}

/**
 * The backlog of one receiver: `ctx.backlog` lock/unlock calls, each one delivery to it, written
 * while it is held back (a stream paused; the target's answers withheld, so its first deliveries
 * hang in flight), then released; from the release to its last receipt.
 */
async function drain(ctx: DeliveryContext, s: DeliverySession, ids: UserIds, receivers: Receivers, target: Target, wiring: Wiring, kind: Kind): Promise<Drain> {
  const name = `delivery${ctx.tag}, backlog to the ${kind} receiver`;
  const stream = kind === "actions" ? undefined : wiring[kind];
  await attach(target, wiring, new Set([kind]), stream ? new Set([kind]) : NONE);
  await outboxEmpty(target.baseUrl, RECEIPTS_TIMEOUT_S);
  if (!stream) await receivers.command({ hold: true });
  await receivers.command({ dump: join(s.db.dataDir, `before-${kind}.txt`) });
  ctx.log(`${name}: writing ${ctx.backlog} deliveries while it is held back`);
  const fill = await locks(ctx, s, FILL_TIMEOUT_S, { calls: ctx.backlog });
  const calls = callsOf(fill.calls, ids, "fill");
  const pendingAtRelease = await pendingDeliveries(target.baseUrl);
  ctx.log(`${name}: ${calls.length} calls at ${fill.rps} req/s; ${pendingAtRelease} deliveries waiting; released`);
  const due = owed(calls, wiring, [kind]).get(kind)!.size;
  const before = await receivers.command<ReceiverStatus>({ counts: true });
  const cpu0 = cpuSeconds(s.server.pid);
  const own0 = cpuSeconds(s.server.pid, "own");
  pinTree(s.server.pid, DRAIN_CORES);
  const releasedAt = epochNow();
  if (stream) await setStreamStatus(target, stream, "enabled");
  else await receivers.command({ hold: false });
  const pending: number[] = [];
  const sampler = setInterval(() => void pendingDeliveries(target.baseUrl).then((n) => pending.push(n), () => undefined), 1000);
  const complete = await receiptsIn(receivers, before, new Map([[kind, due]]), RECEIPTS_TIMEOUT_S);
  clearInterval(sampler);
  const cpu = cpuSeconds(s.server.pid) - cpu0;
  const own = cpuSeconds(s.server.pid, "own") - own0;
  pinTree(s.server.pid, SERVER_CORE);
  const m = (await matched(receivers, s, `drain-${kind}.txt`, calls, wiring, [kind])).byKind.get(kind)!;
  const seconds = (latest(m.arrivals.fill ?? []) - releasedAt) / 1000;
  const result: Drain = {
    kind,
    fill,
    deliveries: calls.length,
    pendingAtRelease,
    receipts: m.received,
    seconds: round(seconds, 2),
    deliveriesPerS: round(calls.length / seconds, 0),
    receiptsPerS: round(m.received / seconds, 0),
    serverCores: round(cpu / seconds, 2),
    serverCpuUsPerDelivery: round((cpu / calls.length) * 1e6, 0),
    mainCpuUsPerDelivery: round((own / calls.length) * 1e6, 0),
    pending,
    complete,
    match: m,
  };
  ctx.log(`${name}: ${result.deliveries} deliveries (${result.receipts} receipts) in ${result.seconds} s: ${result.deliveriesPerS}/s, server ${result.serverCpuUsPerDelivery} µs of CPU each, ${result.mainCpuUsPerDelivery} of them in its main process`);
  return result;
}

function report(ctx: DeliveryContext, rounds: Round[], drains: Drain[], rate: number, status: ReceiverStatus, signing: SignFloor): void {
  const each = (f: (r: Round) => string | number) => rounds.map(f).join(", ");
  const maxWithout = median(rounds.map((r) => r.maxWithout.rps));
  const maxWith = median(rounds.map((r) => r.maxWith.rps));
  const ratio = maxWith / maxWithout;
  const latency = Object.fromEntries(
    KINDS.map((k) => [k, { fromAnswer: summarize(rounds.flatMap((r) => r.halfMatch.get(k)!.fromAnswer.half ?? [])), fromSent: summarize(rounds.flatMap((r) => r.halfMatch.get(k)!.fromSent.half ?? [])) }]),
  ) as Record<Kind, { fromAnswer: Latency; fromSent: Latency }>;
  const atMaximum = Object.fromEntries(KINDS.map((k) => [k, summarize(rounds.flatMap((r) => r.maxMatch.get(k)!.fromAnswer.max ?? []))])) as Record<Kind, Latency>;
  const matches = [...rounds.flatMap((r) => [r.maxMatch, r.halfMatch]), ...drains.map((d) => new Map([[d.kind, d.match]]))];
  const wrong = Object.fromEntries(
    KINDS.map((k) => {
      const of = matches.map((m) => m.get(k)).filter((m) => m !== undefined);
      const sum = (f: (m: KindMatch) => number) => of.reduce((n, m) => n + f(m), 0);
      return [k, { owed: sum((m) => m.owed), lost: sum((m) => m.lost), repeated: sum((m) => m.repeated), unexpected: sum((m) => m.unexpected), outOfOrder: sum((m) => m.outOfOrder) }];
    }),
  ) as Record<Kind, { owed: number; lost: number; repeated: number; unexpected: number; outOfOrder: number }>;
  // What signing alone asks of the server's one core (the delivery process shares it): a sustained
  // rate with receivers cannot pass 1 core / (a call's own CPU + its SETs' signatures).
  const setsPerCall = median(rounds.map((r) => (r.halfMatch.get("push")!.owed + r.halfMatch.get("poll")!.owed) / Math.max(1, r.half.ok)));
  const signingUsPerCall = setsPerCall * signing.cpuUsPerSignature;
  const sustainedCeiling = 1e6 / (median(rounds.map((r) => perCallUs(r.maxWithout))) + signingUsPerCall);
  const errors = rounds.reduce((n, r) => n + r.maxWithout.errors + r.maxWith.errors + r.half.errors, 0) + drains.reduce((n, d) => n + d.fill.errors, 0);
  const rows: (string | number)[][] = [
    ["lock/unlock maximum, with / without receivers", `${maxWith} / ${maxWithout} req/s = ${round(ratio * 100)}% (each round: ${each((r) => `${round((100 * r.maxWith.rps) / r.maxWithout.rps)}%`)})`, `≥ ${THROUGHPUT_RATIO * 100}%`, pass(ratio >= THROUGHPUT_RATIO)],
    ["  server CPU µs a lock/unlock at the maximum, without / with", each((r) => `${perCallUs(r.maxWithout)} / ${perCallUs(r.maxWith)}`), "", ""],
    ...KINDS.map((k) => [`  ${k}: share of the maximum run's deliveries made during it; the rest caught up in`, each((r) => `${round(r.duringRunShare[k] * 100)}%; ${r.catchUpS[k]} s`), "", ""]),
    ...KINDS.map((k) => [
      `${k}: delay from the answer at ${rate}/s, ms`,
      `p50 ${latency[k].fromAnswer.p50}, p95 ${latency[k].fromAnswer.p95}, p99 ${latency[k].fromAnswer.p99}, max ${latency[k].fromAnswer.max} (${latency[k].fromAnswer.count}); from the call's start p99 ${latency[k].fromSent.p99}`,
      `p99 ≤ ${LATENCY_P99_MS}`,
      pass(latency[k].fromAnswer.p99 <= LATENCY_P99_MS && latency[k].fromSent.p99 <= LATENCY_P99_MS),
    ]),
    ["RS256 signature (bench/sign-floor.ts, jose), CPU µs; SETs signed a lock/unlock", `${signing.cpuUsPerSignature}; ${round(setsPerCall, 2)}`, "", ""],
    [`signing alone at ${rate}/s, cores of the server's one`, round((rate * signingUsPerCall) / 1e6, 2), "", ""],
    ["at most, lock/unlocks a second the server's core sustains with receivers (its own CPU a call + signing), share of the maximum without", `${round(sustainedCeiling, 0)}/s = ${round((100 * sustainedCeiling) / maxWithout)}%`, "", ""],
    [`lock/unlock at ${rate}/s with receivers: call p50 / p99 ms; server cores`, each((r) => `${r.half.latencyMs.p50} / ${r.half.latencyMs.p99}; ${r.half.serverCpuCores}`), "", ""],
    ...KINDS.map((k) => [`${k}: delay from the answer at the maximum, ms`, `p50 ${atMaximum[k].p50}, p99 ${atMaximum[k].p99}, max ${atMaximum[k].max}`, "", ""]),
    ...drains.map((d) => [
      `${d.kind}: backlog of ${d.pendingAtRelease} deliveries drained`,
      `${d.deliveriesPerS}/s (${d.deliveries} in ${d.seconds} s; ${d.receiptsPerS} receipts/s; server ${d.serverCores} cores, ${d.serverCpuUsPerDelivery} µs a delivery; written at ${d.fill.rps} req/s)${d.complete ? "" : " INCOMPLETE"}`,
      `≥ ${DRAIN_PER_S}/s`,
      pass(d.complete && d.deliveriesPerS >= DRAIN_PER_S),
    ]),
    ...drains
      .filter((d) => d.kind !== "actions")
      .map((d) => [`  ${d.kind}: signing alone at ${DRAIN_PER_S} deliveries a second, cores of the machine's 2`, round((DRAIN_PER_S * (d.receipts / d.deliveries) * signing.cpuUsPerSignature) / 1e6, 2), "", ""]),
    ...KINDS.map((k) => [`${k}: lost / repeated / unasked for / out of order, of owed`, `${wrong[k].lost} / ${wrong[k].repeated} / ${wrong[k].unexpected} / ${wrong[k].outOfOrder} of ${wrong[k].owed}`, "0", pass(wrong[k].lost + wrong[k].repeated + wrong[k].unexpected + wrong[k].outOfOrder === 0)]),
    ["receipts failing the receivers' checks", `${status.rejected}${status.firstRejection ? ` (${status.firstRejection})` : ""}`, "0", pass(status.rejected === 0)],
    ["receivers' process: cores, event-loop p99 ms", `${round(status.cpuCores, 2)}, ${round(status.loopDelayP99Ms, 1)}`, "", ""],
    ["errors (lock/unlock calls)", errors, "0", pass(errors === 0)],
  ];
  ctx.print(
    `Delivery (push stream, poll stream and Actions target on 127.0.0.1; ${ctx.users} users; lock/unlock over gRPC, ${ctx.connections} streams at the maximum, ${rate}/s at half; ${ctx.rounds} rounds of ${ctx.durationS} s; backlog ${ctx.backlog})${ctx.tag}`,
    table(["measure", "result", "target", "met"], rows),
  );
  const strip = (run: LockRun) => ({ ...run, calls: run.calls.length / 5 });
  const summary = (m: Map<Kind, KindMatch>) =>
    Object.fromEntries([...m].map(([k, v]) => [k, { ...v, fromAnswer: mapValues(v.fromAnswer, summarize), fromSent: mapValues(v.fromSent, summarize), arrivals: undefined }]));
  ctx.log(
    `wrote ${writeResult("delivery", ctx.resultName, {
      ...ctx.header({ backlog: ctx.backlog }),
      how: {
        receivers: "bench/delivery-receivers.ts, taskset -c 1: node:http push receiver (202) and Actions target (200), a poll loop (long polls, maxEvents 100, acknowledging the last answer's SETs); every SET's RS256 signature and claims checked against the JWKS, every Actions body's HMAC",
        locks: "bench/load-grpc.ts with record: closed loop for the maximum, open loop at half the first round's maximum without receivers",
        detached: "streams disabled and no executions: a commit writes no delivery",
        delay: "receipt at the receiver − the call's answer at the load generator (and − its sending), ms since the epoch in both processes",
        backlog: "per receiver alone: streams paused, the target's answers held back by its receiver; ctx.backlog calls; from the release to the last receipt, the server's processes on cores 0 and 1 (taskset -a -p) until then",
        signing: "bench/sign-floor.ts, taskset -c 1, before the rounds: 3,000 SETs signed by src/security/set-signing.ts (jose, RS256, 2048-bit key), 32 at a time; process CPU (WebCrypto's thread pool included) per signature",
      },
      rate,
      signing: { ...signing, setsPerCall: round(setsPerCall, 3), sustainedCeiling: round(sustainedCeiling, 0) },
      targets: { throughputRatio: THROUGHPUT_RATIO, latencyP99Ms: LATENCY_P99_MS, drainPerS: DRAIN_PER_S },
      summary: { maxWithout, maxWith, ratio: round(ratio, 3), latency, atMaximum, wrong, receivers: status, errors },
      rounds: rounds.map((r) => ({ ...r, maxWithout: strip(r.maxWithout), maxWith: strip(r.maxWith), half: strip(r.half), maxMatch: summary(r.maxMatch), halfMatch: summary(r.halfMatch) })),
      drains: drains.map((d) => ({ ...d, fill: strip(d.fill), match: summary(new Map([[d.kind, d.match]]))[d.kind] })),
    })}`,
  );
}

const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
