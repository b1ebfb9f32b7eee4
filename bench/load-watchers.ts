/**
 * The watchers of the watchers scenario (bench/watchers.ts), run as their own process (`taskset
 * -c 1 node --import tsx bench/load-watchers.ts CONFIG_JSON`) so that their CPU is not counted as
 * the server's, with node:http and node:http2 (bench/watch-streams.ts) as the lock generator
 * sends its calls: watcher i watches one user (`user_id`, what a user page asks for), the even
 * ones over Connect JSON (HTTP/1.1 streaming, a connection each), the odd ones over gRPC (HTTP/2
 * streams spread over `grpcConnections` connections: the server allows 100 streams a
 * connection); then `orgWatchers` watch the whole organization, the protocols alternating.
 *
 * Talks to its parent by lines: prints `{"ready":…}` once every watcher has had its first message
 * (a heartbeat: a stream answers nothing before its first event or heartbeat, so that is when it
 * is known to be subscribed); on "stop" on stdin, waits until no event has come for QUIET_MS,
 * closes every stream, writes every receipt to `receiptsFile` (Float64 quadruples: watcher, user
 * index, sequence, received at in ms since the epoch) and prints its summary as the last line.
 */
import { writeFileSync } from "node:fs";
import { connect as http2connect } from "node:http2";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { readUserIds } from "./ids.js";
import { cpuCores } from "./open-loop.js";
import { watchConnect, watchGrpc, type WatchRequest } from "./watch-streams.js";

interface Config {
  url: string;
  token: string;
  idsFile: string;
  orgId: string;
  /** Watchers of one user each: watcher i watches user i (modulo the users). */
  watchers: number;
  /** Watchers of the whole organization. */
  orgWatchers: number;
  grpcConnections: number;
  receiptsFile: string;
  readyTimeoutS: number;
}

/** After "stop", the watchers are closed once no event has arrived for this long (or after MAX_DRAIN_MS). */
const QUIET_MS = 1_000;
const MAX_DRAIN_MS = 15_000;

const cfg = JSON.parse(process.argv[2]!) as Config;
const ids = readUserIds(cfg.idsFile);
const userIndex = new Map<string, number>();
for (let i = 0; i < ids.count; i++) userIndex.set(ids.at(i), i);

// The gRPC watchers' HTTP/2 connections, taken in turn.
const sessions = Array.from({ length: cfg.grpcConnections }, () => http2connect(cfg.url));
let grpcWatchers = 0;

/** When the last event arrived (performance.now()). */
let lastEventAt = 0;
/** Receipts as Float64 quadruples, grown by doubling. */
let receipts = new Float64Array(1 << 20);
let receiptCount = 0;
function receive(watcher: number, user: number, sequence: number) {
  if ((receiptCount + 1) * 4 > receipts.length) {
    const grown = new Float64Array(receipts.length * 2);
    grown.set(receipts);
    receipts = grown;
  }
  receipts.set([watcher, user, sequence, performance.timeOrigin + performance.now()], receiptCount * 4);
  receiptCount++;
  lastEventAt = performance.now();
}

let heartbeats = 0;
let opened = 0;
const ended: { watcher: number; code: string; message: string }[] = [];
/** Set once the watchers are being closed: an end after it is this side's, not the server's. */
let closing = false;
/** Each watcher's close, which also settles its promise (one list, not 1,000 abort listeners). */
const closers: (() => void)[] = [];
let onOpened: (() => void) | undefined;

/** One watcher until its stream ends or the watchers are closed. */
function watch(watcher: number, protocol: "connect" | "grpc", request: WatchRequest): Promise<void> {
  let first = true;
  const opening = () => {
    if (!first) return;
    first = false;
    opened++;
    onOpened?.();
  };
  return new Promise((resolve) => {
    const handlers = {
      event(userId: string, sequence: number) {
        opening();
        receive(watcher, userIndex.get(userId) ?? -1, sequence);
      },
      heartbeat() {
        opening();
        heartbeats++;
      },
      end(code: string, message: string) {
        if (!closing) ended.push({ watcher, code, message });
        resolve();
      },
    };
    const stream = protocol === "connect" ? watchConnect(cfg.url, cfg.token, request, handlers) : watchGrpc(sessions[grpcWatchers++ % sessions.length]!, cfg.token, request, handlers);
    closers.push(() => {
      stream.close();
      resolve();
    });
  });
}

const started = performance.now();
const loops: Promise<void>[] = [];
for (let i = 0; i < cfg.watchers; i++) loops.push(watch(i, i % 2 === 0 ? "connect" : "grpc", { userId: ids.at(i % ids.count) }));
for (let j = 0; j < cfg.orgWatchers; j++) loops.push(watch(cfg.watchers + j, j % 2 === 0 ? "connect" : "grpc", { organizationId: cfg.orgId }));

const total = cfg.watchers + cfg.orgWatchers;
await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, cfg.readyTimeoutS * 1000);
  onOpened = () => {
    if (opened + ended.length < total) return;
    clearTimeout(timer);
    resolve();
  };
  onOpened();
});
onOpened = undefined;
const openMs = performance.now() - started;
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const cpuAtReady = process.cpuUsage();
const readyAt = performance.now();
console.log(JSON.stringify({ ready: opened === total, opened, ended: ended.length, openMs }));

const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === "stop") break;
lines.close();
const stopAt = performance.now();
while (performance.now() - Math.max(lastEventAt, stopAt) < QUIET_MS && performance.now() - stopAt < MAX_DRAIN_MS) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const elapsedS = (performance.now() - readyAt) / 1000;
const cpu = cpuCores(cpuAtReady, elapsedS);
loopDelay.disable();
closing = true;
for (const close of closers) close();
await Promise.all(loops);
for (const s of sessions) s.close();
writeFileSync(cfg.receiptsFile, receipts.subarray(0, receiptCount * 4));
process.stdout.write(
  `${JSON.stringify({
    opened,
    openMs,
    received: receiptCount,
    heartbeats,
    ended,
    elapsedS,
    cpuCores: cpu,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6 - 1,
    loopDelayMaxMs: loopDelay.max / 1e6 - 1,
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  })}\n`,
  () => process.exit(0),
);
