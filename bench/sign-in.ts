/**
 * Sign-in benchmark: CreateSession (user + password check, scrypt on libuv's thread pool) at a
 * fixed concurrency over gRPC, with a steady fixed-rate GetUserByID probe alongside it to see
 * whether the server's event loop stays responsive. The probe is also measured alone first
 * (baseline).
 *
 *   npm run bench:sign-in -- [--users N] [--duration S] [--concurrency C] [--threadpool T]
 *                            [--baseline S] [--rate R] [--out FILE]
 *
 * Starts its own server (node dist/server.mjs, built by npm run bench:sign-in) on a fresh temp SQLite database and a
 * free port, creates an IAM_LOGIN_CLIENT machine user through the CLI, seeds N human users,
 * then measures. Prints a table and writes JSON (default bench/results/sign-in.json). Always
 * stops the server and exits by itself; a hard deadline kills everything if a step hangs.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs, promisify } from "node:util";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SessionService } from "../gen/zitadel/session/v2/session_service_pb.js";
import { UserService } from "../gen/zitadel/user/v2/user_service_pb.js";
import { round } from "./report.js";
import { cpuSeconds, freePort, NODE_FLAGS, ROOT } from "./server.js";

const PASSWORD = "Secr3t-Passw0rd!";
const CLK_TCK = 100; // USER_HZ on Linux; /proc/<pid>/stat reports utime/stime in these ticks

// ---------------------------------------------------------------- options

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    users: { type: "string", default: "200" },
    duration: { type: "string", default: "20" },
    concurrency: { type: "string", default: "16" },
    threadpool: { type: "string" }, // UV_THREADPOOL_SIZE for the server; unset = libuv default (4)
    baseline: { type: "string", default: "5" }, // seconds of GetUserByID alone
    rate: { type: "string", default: "50" }, // GetUserByID per second, fixed schedule
    out: { type: "string", default: "bench/results/sign-in.json" },
  },
});

function positive(name: string, raw: string | undefined, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    console.error(`--${name} must be a number in (0, ${max}], got "${raw}"`);
    process.exit(2);
  }
  return n;
}
const USERS = Math.floor(positive("users", opts.users, 100_000));
const DURATION_S = positive("duration", opts.duration, 3600);
const CONCURRENCY = Math.floor(positive("concurrency", opts.concurrency, 4096));
const BASELINE_S = positive("baseline", opts.baseline, 600);
const RATE = positive("rate", opts.rate, 10_000);
const THREADPOOL = opts.threadpool === undefined ? undefined : Math.floor(positive("threadpool", opts.threadpool, 1024));
const OUT = resolve(ROOT, opts.out!);
const ARGS = process.argv.slice(2);
const COMMAND = ["npm", "run", "bench:sign-in", ...(ARGS.length ? ["--", ...ARGS] : [])].join(" ");

// Everything (setup included) must finish by this deadline, or the server is killed and we exit 1.
const HARD_DEADLINE_MS = 120_000 + (DURATION_S + BASELINE_S) * 1000 + USERS * 200;

// ---------------------------------------------------------------- server process

let server: ChildProcess | undefined;
let serverOutput = "";
let dataDir: string | undefined;

async function startServer(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...NODE_FLAGS, "dist/server.mjs"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const keep = (chunk: Buffer) => {
    serverOutput += chunk;
    if (serverOutput.length > 200_000) serverOutput = serverOutput.slice(-100_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start in 30 s:\n${serverOutput}`)), 30_000);
    const onData = () => {
      if (serverOutput.includes('"msg":"listening"')) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        ready();
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code} before listening:\n${serverOutput}`));
    });
  });
  return child;
}

async function stopServer(): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    child.kill("SIGTERM");
  });
}

function cleanup() {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

/** Busy CPU time of the whole machine (all cores, everything but idle and iowait), in seconds. */
function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const t = line.trim().split(/\s+/).slice(1).map(Number); // user nice system idle iowait irq softirq steal
    return (t.slice(0, 8).reduce((a, b) => a + b, 0) - t[3]! - t[4]!) / CLK_TCK;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- statistics

interface Summary {
  count: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function summarize(samples: number[], errors: number): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);
  return {
    count: sorted.length,
    errors,
    p50: round(at(0.5), 2),
    p95: round(at(0.95), 2),
    p99: round(at(0.99), 2),
    max: round(sorted.length ? sorted[sorted.length - 1]! : NaN, 2),
    mean: round(sorted.reduce((s, x) => s + x, 0) / (sorted.length || 1), 2),
  };
}

// ---------------------------------------------------------------- load generators

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `call` on a fixed schedule (open loop: a slow answer does not delay the next call) for
 * `seconds`. Latency is measured from when the call was actually sent; `lateMs` records how far
 * behind schedule the sender itself was (client-side event-loop delay).
 */
async function fixedRate(rate: number, seconds: number, call: () => Promise<unknown>) {
  const latencies: number[] = [];
  const lateMs: number[] = [];
  let errors = 0;
  const firstError: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const interval = 1000 / rate;
  const start = performance.now();
  const total = Math.floor(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    lateMs.push(Math.max(0, performance.now() - due));
    const sent = performance.now();
    const p: Promise<void> = call().then(
      () => void latencies.push(performance.now() - sent),
      (err: unknown) => {
        errors++;
        if (firstError.length === 0) firstError.push(String(err));
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  return { latencies, lateMs, errors, firstError: firstError[0] };
}

/** `concurrency` closed-loop workers calling `call` until `seconds` have passed. */
async function closedLoop(concurrency: number, seconds: number, call: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      try {
        await call(next++);
        latencies.push(performance.now() - sent);
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, errors, firstError, elapsedS: (performance.now() - start) / 1000 };
}

/** Runs `task` for 0..n-1 with at most `limit` at a time. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

// ---------------------------------------------------------------- main

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

async function main() {
  dataDir = mkdtempSync(join(tmpdir(), "zus-bench-"));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: join(dataDir, "zitadel.db"),
    ADMIN_TOKEN_FILE: join(dataDir, "admin.pat"),
  };
  if (THREADPOOL !== undefined) env.UV_THREADPOOL_SIZE = String(THREADPOOL);
  else delete env.UV_THREADPOOL_SIZE;

  const log = (msg: string) => console.error(`[bench ${(performance.now() / 1000).toFixed(1)}s] ${msg}`);
  log(`starting server on ${baseUrl} (UV_THREADPOOL_SIZE=${env.UV_THREADPOOL_SIZE ?? "default"})`);
  server = await startServer(env);
  const adminToken = readFileSync(env.ADMIN_TOKEN_FILE!, "utf8").trim();

  const admin = createClient(UserService, createGrpcTransport({ baseUrl, interceptors: [bearer(adminToken)] }));
  const probeClient = createClient(UserService, createGrpcTransport({ baseUrl, interceptors: [bearer(adminToken)] }));

  // The admin's organization: from the admin machine user itself.
  const listed = await admin.listUsers({});
  const self = listed.result.find((u) => u.username === "admin") ?? listed.result[0];
  const orgId = self?.details?.resourceOwner;
  if (!orgId) throw new Error("could not find the admin's organization");
  const adminSelf = await admin.getUserByID({ userId: self!.userId });
  if (adminSelf.user?.details?.resourceOwner !== orgId) throw new Error("admin's GetUserByID disagrees on the organization");

  // IAM_LOGIN_CLIENT machine user through the admin CLI, on the same database.
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["dist/cli.mjs", "machine", "add", "--org", orgId, "--username", "bench", "--role", "IAM_LOGIN_CLIENT"],
    { cwd: ROOT, env, timeout: 60_000 },
  );
  const [, loginToken] = stdout.trim().split(" ");
  if (!loginToken) throw new Error(`unexpected CLI output: ${stdout}`);
  const sessions = createClient(SessionService, createGrpcTransport({ baseUrl, interceptors: [bearer(loginToken)] }));

  // Seed users (each AddHumanUser hashes the password with scrypt on the server).
  log(`seeding ${USERS} users`);
  const seedStart = performance.now();
  const userIds: string[] = new Array(USERS);
  await pool(USERS, 32, async (i) => {
    const res = await admin.addHumanUser({
      username: `bench-${i}`,
      organization: { org: { case: "orgId", value: orgId } },
      profile: { givenName: "Bench", familyName: `User ${i}` },
      email: { email: `bench-${i}@example.com`, verification: { case: "isVerified", value: true } },
      passwordType: { case: "password", value: { password: PASSWORD } },
    });
    userIds[i] = res.userId;
  });
  const seedS = (performance.now() - seedStart) / 1000;
  log(`seeded in ${seedS.toFixed(1)} s (${(USERS / seedS).toFixed(1)} users/s)`);

  const randomUser = () => userIds[Math.floor(Math.random() * USERS)]!;
  const signIn = (i: number) =>
    sessions.createSession({
      checks: {
        user: { search: { case: "userId", value: userIds[i % USERS]! } },
        password: { password: PASSWORD },
      },
    });
  const probe = () => probeClient.getUserByID({ userId: randomUser() });

  // Warm-up (JIT, connections, SQLite page cache); not measured.
  log("warming up");
  await closedLoop(Math.min(CONCURRENCY, 8), 2, signIn);
  await fixedRate(RATE, 1, probe);
  await sleep(500);

  log(`baseline: GetUserByID at ${RATE}/s for ${BASELINE_S} s, no sign-ins`);
  const baselineCpu0 = cpuSeconds(server.pid!);
  const baselineMachine0 = machineBusySeconds();
  const baselineClient0 = process.cpuUsage();
  const baselineWall0 = performance.now();
  const baseline = await fixedRate(RATE, BASELINE_S, probe);
  const baselineCpu = (cpuSeconds(server.pid!) ?? NaN) - (baselineCpu0 ?? NaN);
  const baselineWall = (performance.now() - baselineWall0) / 1000;
  const baselineMachine = (machineBusySeconds() ?? NaN) - (baselineMachine0 ?? NaN);
  const baselineClientRaw = process.cpuUsage(baselineClient0);
  const baselineOther = baselineMachine - baselineCpu - (baselineClientRaw.user + baselineClientRaw.system) / 1e6;

  log(`load: CreateSession x${CONCURRENCY} + GetUserByID at ${RATE}/s for ${DURATION_S} s`);
  const loadCpu0 = cpuSeconds(server.pid!);
  const clientCpu0 = process.cpuUsage();
  const loadMachine0 = machineBusySeconds();
  const loadWall0 = performance.now();
  const [signIns, during] = await Promise.all([closedLoop(CONCURRENCY, DURATION_S, signIn), fixedRate(RATE, DURATION_S, probe)]);
  const loadWall = (performance.now() - loadWall0) / 1000;
  const loadCpu = (cpuSeconds(server.pid!) ?? NaN) - (loadCpu0 ?? NaN);
  const clientCpuRaw = process.cpuUsage(clientCpu0);
  const clientCpu = (clientCpuRaw.user + clientCpuRaw.system) / 1e6;
  const loadMachine = (machineBusySeconds() ?? NaN) - (loadMachine0 ?? NaN);
  const loadOther = loadMachine - loadCpu - clientCpu;

  await stopServer();
  log("server stopped");

  const result = {
    command: COMMAND,
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model,
    settings: {
      users: USERS,
      durationS: DURATION_S,
      concurrency: CONCURRENCY,
      uvThreadpoolSize: THREADPOOL ?? "default (4)",
      getUserByIdRatePerS: RATE,
      baselineS: BASELINE_S,
      transport: "gRPC (h2c) via @connectrpc/connect-node createGrpcTransport",
      passwordHash: "scrypt N=2^15 r=8 p=1",
    },
    seeding: { users: USERS, seconds: round(seedS, 2), usersPerS: round(USERS / seedS, 2) },
    signIn: {
      perS: round(signIns.latencies.length / signIns.elapsedS, 2),
      latencyMs: summarize(signIns.latencies, signIns.errors),
      firstError: signIns.firstError,
    },
    getUserByIdDuringSignIns: {
      latencyMs: summarize(during.latencies, during.errors),
      clientScheduleLagMs: summarize(during.lateMs, 0),
      firstError: during.firstError,
    },
    getUserByIdBaseline: {
      latencyMs: summarize(baseline.latencies, baseline.errors),
      clientScheduleLagMs: summarize(baseline.lateMs, 0),
      firstError: baseline.firstError,
    },
    serverCpu: {
      duringSignInsCores: round(loadCpu / loadWall, 2),
      baselineCores: round(baselineCpu / baselineWall, 2),
      note: "utime+stime of the server process from /proc/<pid>/stat (all threads: JS + libuv pool) / wall time",
    },
    clientCpuDuringSignInsCores: round(clientCpu / loadWall, 2),
    // Other processes on the machine compete for the same cores and spoil the numbers.
    otherProcessesCpu: {
      duringSignInsCores: round(loadOther / loadWall, 2),
      baselineCores: round(baselineOther / baselineWall, 2),
      loadAverageAtEnd: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
      note: "machine busy time from /proc/stat minus server and bench client",
    },
  };
  const noisy = Math.max(result.otherProcessesCpu.duringSignInsCores, result.otherProcessesCpu.baselineCores) > 0.15;

  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);

  const s = result.signIn.latencyMs;
  const d = result.getUserByIdDuringSignIns.latencyMs;
  const b = result.getUserByIdBaseline.latencyMs;
  const row = (name: string, x: Summary) =>
    `${name.padEnd(28)}${String(x.count).padStart(7)}${String(x.errors).padStart(7)}` +
    [x.p50, x.p95, x.p99, x.max].map((v) => v.toFixed(2).padStart(10)).join("");
  console.log(
    [
      "",
      `${COMMAND}`,
      `node ${result.node}, ${result.cores} cores, UV_THREADPOOL_SIZE=${result.settings.uvThreadpoolSize}, ${USERS} users, ${DURATION_S} s, concurrency ${CONCURRENCY}`,
      "",
      `${"latency (ms)".padEnd(28)}${"count".padStart(7)}${"errors".padStart(7)}${"p50".padStart(10)}${"p95".padStart(10)}${"p99".padStart(10)}${"max".padStart(10)}`,
      row("CreateSession (password)", s),
      row("GetUserByID during sign-ins", d),
      row("GetUserByID baseline", b),
      "",
      `sign-ins/s: ${result.signIn.perS}`,
      `server CPU: ${result.serverCpu.duringSignInsCores} cores during sign-ins, ${result.serverCpu.baselineCores} baseline; bench client ${result.clientCpuDuringSignInsCores} cores`,
      `client schedule lag p99 (during/baseline): ${result.getUserByIdDuringSignIns.clientScheduleLagMs.p99} / ${result.getUserByIdBaseline.clientScheduleLagMs.p99} ms`,
      `other processes: ${result.otherProcessesCpu.duringSignInsCores} cores during sign-ins, ${result.otherProcessesCpu.baselineCores} baseline` +
        (noisy ? "  <-- WARNING: the machine was not quiet; numbers are not trustworthy" : ""),
      `wrote ${relative(ROOT, OUT)}`,
      "",
    ].join("\n"),
  );
  return s.errors + d.errors + b.errors === 0 ? 0 : 1;
}

const deadline = setTimeout(() => {
  console.error(`bench: hard deadline of ${Math.round(HARD_DEADLINE_MS / 1000)} s passed; killing the server`);
  server?.kill("SIGKILL");
  cleanup();
  process.exit(1);
}, HARD_DEADLINE_MS);
deadline.unref();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server?.kill("SIGKILL");
    cleanup();
    process.exit(130);
  });
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error("bench failed:", err);
  if (serverOutput) console.error(`--- server output (tail) ---\n${serverOutput.slice(-4000)}`);
} finally {
  await stopServer();
  cleanup();
}
// Connect's HTTP/2 sessions may keep the loop alive; the work is done, so exit explicitly.
process.exit(code);
