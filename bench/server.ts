/**
 * The server under test: `taskset -c 0 node NODE_FLAGS dist/server.mjs` (or unpinned, when asked) with
 * BENCH_NOOP=1, the default LOG_LEVEL and stdout to /dev/null, on a fresh database (a temp dir for SQLite, a new
 * database for PostgreSQL). Readiness is the first served authenticated Noop call.
 * For diagnosis: NODE_BENCH_FLAGS adds flags to that `node` (`--cpu-prof`, `--trace-gc-nvp`),
 * and BENCH_SERVER_STDOUT names a file its stdout is appended to instead (what V8 traces).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";

export const ROOT = resolve(import.meta.dirname, "..");
/** The flags `npm start` gives Node (package.json's config.nodeFlags): the server measured is the one it starts. */
export const NODE_FLAGS: string[] = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).config?.nodeFlags ?? "").split(" ").filter(Boolean);
export type Backend = "sqlite" | "postgres";

export interface Database {
  backend: Backend;
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

export async function freshDatabase(backend: Backend): Promise<Database> {
  const dataDir = mkdtempSync(join(tmpdir(), "zus-bench-"));
  if (backend === "sqlite") {
    return { backend, url: join(dataDir, "zitadel.db"), dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `zus_bench_${process.pid}_${Date.now()}`;
  await onPostgres(`create database ${name}`);
  return {
    backend,
    url: postgresUrl(name),
    dataDir,
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      await onPostgres(`drop database if exists ${name} with (force)`).catch(() => undefined);
    },
  };
}

/** The PostgreSQL server the benchmark uses: TEST_POSTGRES_URL, or the local one's database "test". */
const postgresBase = () => process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test";

/** The URL of database `name` on the benchmark's PostgreSQL server. */
export function postgresUrl(name: string): string {
  const url = new URL(postgresBase());
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs one statement on the benchmark's PostgreSQL server (creating and dropping databases); its rows. */
export async function onPostgres(statement: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: postgresBase() });
  await client.connect();
  try {
    return (await client.query(statement, values)).rows;
  } finally {
    await client.end();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

export interface RunningServer {
  pid: number;
  port: number;
  baseUrl: string;
  token: string;
  /** Spawn to the first served (authenticated) Noop call, ms. */
  startToFirstCallMs: number;
  stderr(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
/** Last resort on a hard deadline or a signal. */
export function killAll(): void {
  for (const child of live) child.kill("SIGKILL");
}

function post(port: number, path: string, token: string, body: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode ?? 0));
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

/**
 * `pinned: false` leaves the server to the scheduler on every core (the workers scenario, whose
 * WORKERS=2 is to use both).
 */
export async function startServer(db: Database, port: number, extraEnv: NodeJS.ProcessEnv = {}, { pinned = true } = {}): Promise<RunningServer> {
  const tokenFile = join(db.dataDir, "admin.pat");
  // One server process (WORKERS=1) unless a scenario asks for more: the server is pinned to one
  // core, and its CPU is read from its pid (a cluster's: its primary's and its workers').
  const env: NodeJS.ProcessEnv = { ...process.env, WORKERS: "1", PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: db.url, ADMIN_TOKEN_FILE: tokenFile, BENCH_NOOP: "1", ...extraEnv };
  if (!extraEnv.LOG_LEVEL) delete env.LOG_LEVEL; // the default level (info: one log line per call, to /dev/null)
  const started = performance.now();
  const stdout = env.BENCH_SERVER_STDOUT ? openSync(env.BENCH_SERVER_STDOUT, "a") : "ignore";
  const node = [process.execPath, ...NODE_FLAGS, ...(env.NODE_BENCH_FLAGS ? env.NODE_BENCH_FLAGS.split(" ") : []), "dist/server.mjs"];
  const [command, ...args] = pinned ? ["taskset", "-c", "0", ...node] : node;
  const child = spawn(command!, args, {
    cwd: ROOT,
    env,
    stdio: ["ignore", stdout, "pipe"],
  });
  if (typeof stdout === "number") closeSync(stdout); // the child has its own copy
  live.add(child);
  let stderr = "";
  child.stderr!.on("data", (c) => (stderr = (stderr + c).slice(-20_000)));
  let exited = false;
  child.once("exit", () => {
    exited = true;
    live.delete(child);
  });
  // Poll until a real authenticated call is served.
  const deadline = started + 60_000;
  let token = "";
  for (;;) {
    if (exited) throw new Error(`server exited before serving:\n${stderr}`);
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not serve a call within 60 s:\n${stderr}`);
    }
    if (!token && existsSync(tokenFile)) token = readFileSync(tokenFile, "utf8").trim();
    if (token) {
      const status = await post(port, "/zus.bench.v1.BenchService/Noop", token, '{"userId":"1"}').catch(() => 0);
      if (status === 200) break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const startToFirstCallMs = performance.now() - started;
  return {
    pid: child.pid!,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    startToFirstCallMs,
    stderr: () => stderr,
    stop: () =>
      new Promise<void>((done) => {
        if (exited) return done();
        const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(kill);
          done();
        });
        child.kill("SIGTERM");
      }),
  };
}

export interface BareServer {
  grpcUrl: string;
  httpUrl: string;
  stop(): Promise<void>;
}

/**
 * bench/bare-server.ts on the server's core, with the server's Node flags: the floor of the
 * latency figures; with `durableFile`, each answer waits for an fdatasync of a record appended to it.
 */
export async function startBareServer(durableFile?: string): Promise<BareServer> {
  const { ports, stop } = await spawnListening<{ grpc: number; http: number }>(["taskset", "-c", "0", process.execPath, ...NODE_FLAGS, "--import", "tsx", "bench/bare-server.ts", ...(durableFile ? ["--durable", durableFile] : [])], "bare server");
  return { grpcUrl: `http://127.0.0.1:${ports.grpc}`, httpUrl: `http://127.0.0.1:${ports.http}`, stop };
}

export interface BareCluster {
  pid: number;
  baseUrl: string;
  stop(): Promise<void>;
}

/** bench/bare-cluster.ts, unpinned, with the server's Node flags: the workers scenario's reference. */
export async function startBareCluster(workers: number, units: number): Promise<BareCluster> {
  const { pid, ports, stop } = await spawnListening<{ http: number }>([process.execPath, ...NODE_FLAGS, "--import", "tsx", "bench/bare-cluster.ts", String(workers), String(units)], "bare cluster");
  return { pid, baseUrl: `http://127.0.0.1:${ports.http}`, stop };
}

/** Starts a bench script that prints its ports as one JSON line once it listens. */
async function spawnListening<Ports>(command: string[], what: string): Promise<{ pid: number; ports: Ports; stop(): Promise<void> }> {
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  const exited = new Promise<void>((done) => child.once("exit", () => (live.delete(child), done())));
  let stderr = "";
  child.stderr!.on("data", (c) => (stderr = (stderr + c).slice(-10_000)));
  const ports = await new Promise<Ports>((done, fail) => {
    const failed = (why: string) => {
      child.kill("SIGKILL");
      fail(new Error(`${what} ${why}:\n${stderr}`));
    };
    const timer = setTimeout(() => failed("did not listen within 30 s"), 30_000);
    let out = "";
    child.stdout!.on("data", (c) => {
      out += c;
      if (!out.includes("\n")) return;
      clearTimeout(timer);
      try {
        done(JSON.parse(out.slice(0, out.indexOf("\n"))));
      } catch {
        failed(`printed ${JSON.stringify(out)} instead of its ports`);
      }
    });
    child.once("error", (err) => failed(`could not start: ${err.message}`));
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`${what} exited before listening:\n${stderr}`));
    });
  });
  return {
    pid: child.pid!,
    ports,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** VmRSS and VmHWM of a process, MiB (from /proc/<pid>/status). */
export function memoryMiB(pid: number): { vmRssMiB: number; vmHwmMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { vmRssMiB: Math.round(kb("VmRSS") / 102.4) / 10, vmHwmMiB: Math.round(kb("VmHWM") / 102.4) / 10 };
  } catch {
    return undefined;
  }
}

/** A process's name and the fields of /proc/PID/stat after it (f[11] utime, f[12] stime, f[13] cutime, f[14] cstime, in 1/100 s). */
function procStat(pid: number | string): { name: string; f: string[] } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return { name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), f: stat.slice(stat.lastIndexOf(")") + 2).split(" ") };
}

/**
 * The CPU of a process and of its children (the server's delivery process, app/courier-process.ts),
 * in seconds: utime+stime of each live one, and cutime+cstime for those that have exited.
 */
export function cpuSeconds(pid: number, of: "tree" | "own" = "tree"): number {
  try {
    const { f } = procStat(pid);
    if (of === "own") return (Number(f[11]) + Number(f[12])) / 100;
    const own = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    return own + childrenOf(pid).reduce((sum, child) => sum + (cpuSeconds(child) || 0), 0);
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) of each process named postgres, by pid. */
export function postgresCpu(): Map<number, number> {
  const of = new Map<number, number>();
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const { name, f } = procStat(pid);
      if (name === "postgres") of.set(Number(pid), (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // ended meanwhile
    }
  }
  return of;
}

/**
 * The database's CPU seconds since `before` (postgresCpu()): what each process running now used
 * since then (a new one: since it started). A connection that closed meanwhile (a pool's idle
 * timeout) takes its seconds with it: left out, not subtracted.
 */
export function postgresCpuSince(before: Map<number, number>): number {
  let sum = 0;
  for (const [pid, seconds] of postgresCpu()) sum += seconds - (before.get(pid) ?? 0);
  return sum;
}

/** Sets the cores (a taskset list, e.g. "0" or "0,1") of a process, its threads and its children's. */
export function pinTree(pid: number, cores: string): void {
  for (const p of [pid, ...childrenOf(pid)]) execFileSync("taskset", ["-a", "-p", "-c", cores, String(p)], { stdio: "ignore" });
}

/** The processes `pid` started (a cluster primary's workers), by pid. */
export function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
}
