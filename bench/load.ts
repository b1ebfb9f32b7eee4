/**
 * Starting the load generators as their own processes pinned to core 1 (`taskset -c 1 …`),
 * h2load for the gRPC ceiling cross-check; for the workers scenario (unpinned), h2load for its
 * reads and wrk for its lock/unlock pairs.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { killAll as killServers, ROOT } from "./server.js";

const children = new Set<import("node:child_process").ChildProcess>();
export function killLoad(): void {
  for (const c of children) c.kill("SIGKILL");
  killServers();
}

/** Runs `taskset -c 1 node --import tsx bench/<script> CONFIG` and parses its last stdout line. */
export function runNodeLoad<T>(script: string, config: object, timeoutS: number): Promise<T> {
  return new Promise((done, fail) => {
    const child = spawn("taskset", ["-c", "1", process.execPath, "--max-old-space-size=2048", "--import", "tsx", join("bench", script), JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let out = "";
    let err = "";
    child.stdout!.on("data", (c) => (out += c));
    child.stderr!.on("data", (c) => (err = (err + c).slice(-10_000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      const line = out.trim().split("\n").pop();
      if (code !== 0 || !line) return fail(new Error(`${script} exited with ${code}:\n${err}`));
      try {
        done(JSON.parse(line) as T);
      } catch (e) {
        fail(new Error(`${script}: bad output ${String(e)}\n${err}`));
      }
    });
  });
}

/** Runs a C load generator to its end (killed after `timeoutS`): its exit code and its stdout and stderr together. */
function outputOf(command: string, args: string[], timeoutS: number): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    child.stdout!.on("data", (chunk) => (out += chunk));
    child.stderr!.on("data", (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutS * 1000);
    child.once("error", (err) => fail(new Error(`${command} could not start (${err.message}): run \`bash scripts/bench-prerequisites.sh\``)));
    child.once("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      done({ code, out });
    });
  });
}

export function h2loadPath(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v h2load"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const H2LOAD_HINT = "h2load not found: install it with `apt-get update && apt-get install -y nghttp2-client` (Debian/Ubuntu), or run `bash scripts/bench-prerequisites.sh`";

/** CPU seconds of this process's children that have ended (and been waited for): what a load generator used, read around its run. */
export function endedChildrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) / 100;
}

/** A load over the seeded users: what bench/wrk-users.lua's done() prints, or runH2loadWalk read. */
export interface UsersLoadResult {
  requests: number;
  durationUs: number;
  ok: number;
  /** Answers the load did not expect (any but 200, and a lock's 400 on a user's first visit). */
  unexpected: number;
  /** Users a run before left locked: their first lock answered 400 and the walk unlocked them. */
  resumed: number;
  non2xx: number;
  socketErrors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  firstUnexpected: string;
  /** The cores the load generator kept busy. */
  cpuCores: number;
}

/** A load over the seeded users (`idsFile`: one id a line), unpinned: it shares the cores with the server it loads. */
export interface UsersLoad {
  url: string;
  token: string;
  idsFile: string;
  connections: number;
  durationS: number;
  /** Default: one a core, fewer if there are fewer connections. */
  threads?: number;
}

const threadsOf = (load: UsersLoad): string => String(load.threads ?? Math.min(cpus().length, load.connections));

/** wrk with bench/wrk-users.lua: lock/unlock pairs, no two calls on one user at once. */
export function runWrk(opts: UsersLoad): Promise<UsersLoadResult> {
  const threads = threadsOf(opts);
  const args = ["-t", threads, "-c", String(opts.connections), "-d", `${opts.durationS}s`, "--latency", "-s", join(ROOT, "bench", "wrk-users.lua"), opts.url, "--", opts.idsFile, opts.token, threads];
  const cpu0 = endedChildrenCpuSeconds();
  const t0 = performance.now();
  return outputOf("wrk", args, opts.durationS + 30).then(({ code, out }) => {
    const line = out.split("\n").find((l) => l.startsWith("{"));
    if (code !== 0 || !line) throw new Error(`wrk exited with ${code}:\n${out.slice(-2000)}`);
    const cpuCores = (endedChildrenCpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
    return { ...(JSON.parse(line) as Omit<UsersLoadResult, "cpuCores">), cpuCores };
  });
}

/**
 * h2load over HTTP/1.1: GET /v2/users/{id}, each connection walking the users in turn. A read
 * needs no order between calls, so no script runs a call (wrk-users.lua's did, and its answers'
 * bookkeeping cost the cores the two workers share: bench/FINDINGS.md, "reads without a script").
 * Its per-request log gives the latencies and every status.
 */
export function runH2loadWalk(opts: UsersLoad): Promise<UsersLoadResult> {
  // Beside the ids, named by the port: written at a server's first measure, used by the rest.
  const urisFile = `${opts.idsFile}.${new URL(opts.url).port}.uris`;
  if (!existsSync(urisFile)) {
    const ids = readFileSync(opts.idsFile, "utf8").split("\n").filter(Boolean);
    writeFileSync(urisFile, ids.map((id) => `${opts.url}/v2/users/${id}\n`).join(""));
  }
  const logFile = `${urisFile}.log`;
  const args = ["--h1", "-t", threadsOf(opts), "-c", String(opts.connections), "-D", String(opts.durationS), "-i", urisFile, "--log-file", logFile, "-H", `authorization: Bearer ${opts.token}`];
  const cpu0 = endedChildrenCpuSeconds();
  const t0 = performance.now();
  return outputOf("h2load", args, opts.durationS + 30).then(({ code, out }) => {
    const cpuCores = (endedChildrenCpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
    const finished = /finished in ([\d.]+)(s|ms),/.exec(out);
    const counts = /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, \d+ failed, (\d+) errored/.exec(out);
    if (code !== 0 || !finished || !counts) throw new Error(`h2load exited with ${code}:\n${out.slice(-2000)}`);
    // One line a request: its start (µs since the epoch), its status, µs to the end of its answer.
    const rows = readFileSync(logFile, "utf8").split("\n").filter(Boolean).map((line) => line.split("\t").map(Number));
    rmSync(logFile);
    const latencies = rows.map((row) => row[2]!).sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const notOk = rows.filter((row) => row[1] !== 200);
    return {
      requests: Number(counts[1]),
      durationUs: Number(finished[1]) * (finished[2] === "s" ? 1e6 : 1e3),
      ok: rows.length - notOk.length,
      unexpected: notOk.length,
      resumed: 0,
      non2xx: notOk.filter((row) => row[1]! > 0 && (row[1]! < 200 || row[1]! > 299)).length,
      socketErrors: Number(counts[2]),
      p50Us: at(0.5),
      p99Us: at(0.99),
      maxUs: latencies.at(-1) ?? 0,
      firstUnexpected: notOk.length ? `status ${notOk[0]![1]}` : "",
      cpuCores,
    };
  });
}

export interface H2loadResult {
  rps: number;
  succeeded: number;
  failed: number;
  errored: number;
  command: string;
  raw: string;
}

/** h2load on the Noop RPC (one fixed body: h2load cannot vary it), pinned to core 1. */
export function runH2load(opts: { url: string; token: string; userId: string; dataDir: string; connections: number; streams: number; durationS: number }): Promise<H2loadResult> {
  const body = Buffer.alloc(5 + 2 + opts.userId.length);
  body.writeUInt32BE(2 + opts.userId.length, 1);
  body[5] = 0x0a;
  body[6] = opts.userId.length;
  body.write(opts.userId, 7, "latin1");
  const bodyFile = join(opts.dataDir, "noop.grpc");
  writeFileSync(bodyFile, body);
  const args = [
    "-c", "1", "h2load",
    "-c", String(opts.connections), "-m", String(opts.streams), "-t", "1", "-D", String(opts.durationS),
    "-d", bodyFile,
    "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", `authorization: Bearer ${opts.token}`,
    `${opts.url}/zus.bench.v1.BenchService/Noop`,
  ];
  const command = ["taskset", ...args].join(" ").replace(opts.token, "$TOKEN");
  return outputOf("taskset", args, opts.durationS + 30).then(({ out }) => {
    const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
    const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
    if (!Number.isFinite(rps) || !m) throw new Error(`h2load output not understood:\n${out}`);
    return { rps, succeeded: Number(m[1]), failed: Number(m[2]), errored: Number(m[3]), command, raw: out.slice(-1500) };
  });
}
