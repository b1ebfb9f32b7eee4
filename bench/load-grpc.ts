/**
 * gRPC (h2c) load generator, run as its own process (`taskset -c 1 node --import tsx
 * bench/load-grpc.ts CONFIG_JSON`). h2load cannot vary the body per request, this can: every
 * user's request frame is pre-encoded once (one contiguous buffer, a view per call), and many
 * concurrent streams share a few HTTP/2 connections. Prints one JSON result line on stdout.
 *
 * Modes: "closed" (each of `concurrency` slots sends its next call when the last one answered)
 * or "rate" (open loop: bench/open-loop.ts).
 * Ops: "noop" (BenchService/Noop), "lockunlock" (LockUser/UnlockUser), "get" (GetUserByID),
 * "history" and "historyNext" (ListUserEvents, bench/history-calls.ts); get and history pick users at random.
 * lockunlock, closed: slot s walks its own slice of users: lock u, unlock u, lock u+1, …
 * lockunlock, rate: windows of users locked then unlocked (bench/open-loop.ts). A slot stops
 * only after an unlock, and anything still locked at the end is unlocked (not measured), so
 * the next run starts clean.
 * `calls` ends a closed loop after about that many calls instead of at the duration.
 * With `record`, every lock/unlock that succeeded (the clean-up's too) is kept with the sequence
 * it answered and when it was sent and answered: what the watchers scenario checks deliveries
 * against (bench/watchers.ts).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { connect, constants, type ClientHttp2Session } from "node:http2";
import { LockUserResponseSchema, UnlockUserResponseSchema } from "../gen/zitadel/user/v2/user_service_pb.js";
import { historyRequest, LIST_USER_EVENTS, type HistoryOp } from "./history-calls.js";
import { readUserIds } from "./ids.js";
import { atFixedRate, cpuCores, lockUnlockAt } from "./open-loop.js";

interface Config {
  url: string;
  token: string;
  idsFile: string;
  op: "noop" | "lockunlock" | "get" | HistoryOp;
  mode: "closed" | "rate";
  concurrency: number;
  connections: number;
  rate?: number;
  durationS: number;
  record?: boolean;
  /** Closed loop: stop after about this many calls (at a slot's next unlock), or at the duration, whichever comes first. */
  calls?: number;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const ids = readUserIds(cfg.idsFile);
const N = ids.count;
const ID_LEN = ids.length;
const isHistory = cfg.op === "history" || cfg.op === "historyNext";
/** What follows field 1 in every request: ListUserEvents' page_size (2) and page_token (3). */
const rest = isHistory ? pageFields(await historyRequest(cfg.op as HistoryOp, cfg.url, cfg.token, ids.at(0))) : Buffer.alloc(0);
const FRAME = 5 + 2 + ID_LEN + rest.length; // gRPC frame header + field 1 (tag, length) + the id + the rest
// All ids have the same length, so frame i is at i * FRAME.
const frames = Buffer.alloc(N * FRAME);
for (let i = 0; i < N; i++) {
  const o = i * FRAME;
  frames[o] = 0; // not compressed
  frames.writeUInt32BE(FRAME - 5, o + 1);
  frames[o + 5] = 0x0a; // field 1 (user_id), wire type 2
  frames[o + 6] = ID_LEN;
  ids.buffer.copy(frames, o + 7, i * ID_LEN, (i + 1) * ID_LEN);
  rest.copy(frames, o + 7 + ID_LEN);
}
const frameOf = (i: number) => frames.subarray(i * FRAME, (i + 1) * FRAME);

/** page_size (field 2, varint) and, when there is one, page_token (field 3); sizes and tokens are under 128. */
function pageFields({ pageSize, pageToken }: { pageSize: number; pageToken: string }): Buffer {
  const token = Buffer.from(pageToken, "latin1");
  if (pageSize > 127 || token.length > 127) throw new Error("page size and token must each fit one byte of length");
  return Buffer.concat([Buffer.from([0x10, pageSize]), token.length ? Buffer.from([0x1a, token.length]) : Buffer.alloc(0), token]);
}

const PATHS = {
  noop: "/zus.bench.v1.BenchService/Noop",
  lock: "/zitadel.user.v2.UserService/LockUser",
  unlock: "/zitadel.user.v2.UserService/UnlockUser",
  get: "/zitadel.user.v2.UserService/GetUserByID",
  history: LIST_USER_EVENTS,
};

const sessions: ClientHttp2Session[] = [];
for (let i = 0; i < cfg.connections; i++) {
  const s = connect(cfg.url, { settings: { initialWindowSize: 1 << 20 } });
  s.on("error", () => undefined);
  sessions.push(s);
}
await Promise.all(sessions.map((s) => new Promise<void>((r) => s.once("connect", () => r()))));

const auth = `Bearer ${cfg.token}`;
let rr = 0;
const errorsByStatus: Record<string, number> = {};
let firstError: string | undefined;

/** One unary gRPC call; resolves with the grpc-status (or "transport" on a stream error); the answer's bytes go to `body` if given. */
function call(path: string, user: number, body?: Buffer[]): Promise<string> {
  return new Promise((done) => {
    const session = sessions[rr++ % sessions.length]!;
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: auth,
    });
    let status: string | undefined;
    let message: string | undefined;
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) {
        status = String(h["grpc-status"]);
        message = h["grpc-message"] as string | undefined;
      }
    });
    req.on("trailers", (t) => {
      status = String(t["grpc-status"]);
      message = t["grpc-message"] as string | undefined;
    });
    req.on("data", body ? (chunk: Buffer) => body.push(chunk) : () => undefined);
    req.on("close", () => {
      const s = status ?? "transport";
      if (s !== "0") {
        errorsByStatus[s] = (errorsByStatus[s] ?? 0) + 1;
        firstError ??= `${path}: grpc-status ${s} ${message ?? ""}`;
      }
      done(s);
    });
    req.on("error", () => undefined);
    req.end(frameOf(user));
  });
}

const latencies: number[] = [];
let ok = 0;
let lateMsMax = 0;
let loopDelayP99Ms: number | undefined;
const locked = new Set<number>();

async function timed(path: string, user: number, body?: Buffer[]): Promise<string> {
  const t = performance.now();
  const s = await call(path, user, body);
  if (s === "0") {
    ok++;
    latencies.push(performance.now() - t);
  }
  return s;
}

/** With `record`: per acknowledged lock/unlock, user, 1 for an unlock, sequence, sent and answered (ms since the epoch). */
const calls: number[] = [];

/** Keeps a lock/unlock that succeeded, with the sequence its answer (one gRPC message) carries. */
function acknowledged(unlock: boolean, user: number, body: Buffer[], sentAt: number) {
  const message = Buffer.concat(body).subarray(5);
  const details = (unlock ? fromBinary(UnlockUserResponseSchema, message) : fromBinary(LockUserResponseSchema, message)).details;
  calls.push(user, unlock ? 1 : 0, Number(details?.sequence ?? -1), performance.timeOrigin + sentAt, performance.timeOrigin + performance.now());
}

async function lockOrUnlock(unlock: boolean, user: number) {
  const body = cfg.record ? [] : undefined;
  const sentAt = performance.now();
  const s = await timed(unlock ? PATHS.unlock : PATHS.lock, user, body);
  if (s !== "0") return;
  unlock ? locked.delete(user) : locked.add(user);
  if (body) acknowledged(unlock, user, body, sentAt);
}

const start = performance.now();
const cpuAtStart = process.cpuUsage();
const end = start + cfg.durationS * 1000;

if (cfg.mode === "closed") {
  const C = cfg.concurrency;
  const slice = Math.max(1, Math.floor(N / C));
  const limit = cfg.calls ?? Infinity;
  let started = 0;
  await Promise.all(
    Array.from({ length: C }, async (_, s) => {
      const base = (s * slice) % N;
      for (let j = 0; ; j++) {
        if ((performance.now() >= end || started >= limit) && (cfg.op !== "lockunlock" || j % 2 === 0)) break;
        started++;
        const user = (base + (Math.floor(j / 2) % slice)) % N;
        if (cfg.op === "noop") await timed(PATHS.noop, user);
        else if (cfg.op === "get") await timed(PATHS.get, Math.floor(Math.random() * N));
        else if (isHistory) await timed(PATHS.history, Math.floor(Math.random() * N));
        else await lockOrUnlock(j % 2 === 1, user);
      }
    }),
  );
} else {
  ({ lateMsMax, loopDelayP99Ms } = await atFixedRate(cfg.rate!, cfg.durationS, (k) => {
    if (cfg.op === "noop") return timed(PATHS.noop, k % N);
    if (cfg.op === "get") return timed(PATHS.get, Math.floor(Math.random() * N));
    if (isHistory) return timed(PATHS.history, Math.floor(Math.random() * N));
    const { unlock, user } = lockUnlockAt(k, N);
    return lockOrUnlock(unlock, user);
  }));
}
const elapsedS = (performance.now() - start) / 1000;

// Clean up: nothing stays locked for the next run.
const left = [...locked];
const cleanUp = async (user: number) => {
  const body = cfg.record ? [] : undefined;
  const sentAt = performance.now();
  if ((await call(PATHS.unlock, user, body)) === "0" && body) acknowledged(true, user, body, sentAt);
};
for (let i = 0; i < left.length; i += 32) await Promise.all(left.slice(i, i + 32).map(cleanUp));

for (const s of sessions) s.close();
const errors = Object.values(errorsByStatus).reduce((a, b) => a + b, 0);
// Exit only once the (large) line is flushed to the pipe.
process.stdout.write(
  `${JSON.stringify({ ok, errors, errorsByStatus, firstError, elapsedS, rps: ok / elapsedS, cpuCores: cpuCores(cpuAtStart, elapsedS), lateMsMax, loopDelayP99Ms, latencies, unlockedAfter: left.length, calls: cfg.record ? calls : undefined })}\n`,
  () => process.exit(0),
);
