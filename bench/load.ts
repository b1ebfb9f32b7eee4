/**
 * Starting the load generators as their own processes pinned to core 1 (`taskset -c 1 …`),
 * and h2load for the gRPC ceiling cross-check.
 */
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
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

export function h2loadPath(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v h2load"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const H2LOAD_HINT = "h2load not found: install it with `apt-get update && apt-get install -y nghttp2-client` (Debian/Ubuntu)";

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
  return new Promise((done, fail) => {
    const child = spawn("taskset", args, { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    child.stdout!.on("data", (c) => (out += c));
    child.stderr!.on("data", (c) => (out += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), (opts.durationS + 30) * 1000);
    child.once("exit", () => {
      clearTimeout(timer);
      children.delete(child);
      const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
      const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
      if (!Number.isFinite(rps) || !m) return fail(new Error(`h2load output not understood:\n${out}`));
      done({ rps, succeeded: Number(m[1]), failed: Number(m[2]), errored: Number(m[3]), command, raw: out.slice(-1500) });
    });
  });
}
