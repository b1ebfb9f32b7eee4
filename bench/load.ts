/**
 * Starting the load generators as their own processes pinned to core 1 (`taskset -c 1 …`),
 * h2load for the gRPC ceiling cross-check, and wrk for the workers scenario (unpinned).
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
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

/** What bench/wrk-users.lua's done() prints. */
export interface WrkResult {
  requests: number;
  durationUs: number;
  ok: number;
  /** Answers the script did not expect (any but 200, and a lock's 400 on a user's first visit). */
  unexpected: number;
  /** Users a run before left locked: their first lock answered 400 and the walk unlocked them. */
  resumed: number;
  non2xx: number;
  socketErrors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  firstUnexpected: string;
  /** The cores wrk kept busy. */
  cpuCores: number;
}

/**
 * wrk with bench/wrk-users.lua, one thread a core (fewer if there are fewer connections, or
 * `threads`), unpinned: it shares the cores with the server it loads.
 */
export function runWrk(opts: { url: string; token: string; idsFile: string; op: "get" | "lockunlock"; connections: number; durationS: number; threads?: number }): Promise<WrkResult> {
  const threads = String(opts.threads ?? Math.min(cpus().length, opts.connections));
  const args = ["-t", threads, "-c", String(opts.connections), "-d", `${opts.durationS}s`, "--latency", "-s", join(ROOT, "bench", "wrk-users.lua"), opts.url, "--", opts.op, opts.idsFile, opts.token, threads];
  const cpu0 = endedChildrenCpuSeconds();
  const t0 = performance.now();
  return outputOf("wrk", args, opts.durationS + 30).then(({ code, out }) => {
    const line = out.split("\n").find((l) => l.startsWith("{"));
    if (code !== 0 || !line) throw new Error(`wrk exited with ${code}:\n${out.slice(-2000)}`);
    const cpuCores = (endedChildrenCpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
    return { ...(JSON.parse(line) as Omit<WrkResult, "cpuCores">), cpuCores };
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
