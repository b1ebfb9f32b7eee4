/**
 * The crowd scenario on SQLite and on PostgreSQL back to back, and their ratio (issue 23):
 * `npm run bench:crowd [-- --duration S --warmup S]`. Each backend is `npm run bench -- --scenario
 * crowd --backend B` as it is (bench/run.ts: a fresh database, the server on core 0, 600
 * connections doing create → lock → delete from core 1, measured after the warm-up), which
 * writes bench/results/crowd-B.json; this reads the two files and sets them side by side.
 *
 * The server's CPU is the Node process's (bench/run.ts's accounting); on PostgreSQL the database's
 * own processes work for the same calls, so their CPU over the same time is shown beside it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { round, table } from "./report.js";
import { ROOT } from "./server.js";

/** The targets of issue 23. */
const CYCLES_RATIO = 0.5;
const LOCK_P95_MS = 300;
const CPU_RATIO = 2;

const { values } = parseArgs({ options: { duration: { type: "string", default: "10" }, warmup: { type: "string", default: "2" } } });

interface CrowdResult {
  elapsedS: number;
  cycles: number;
  errors: Record<string, number>;
  latencyMs: Record<string, { p50: number; p95: number; p99: number }>;
  /** The warm-up's calls too. */
  wholeLatencyMs: Record<string, { p95: number }>;
  serverCpuCores: number;
  /** Over the whole run (bench/run.ts). */
  cpuUsPerCall: number;
  /** PostgreSQL's own processes over the same time (bench/run.ts). */
  postgresCpuCores?: number;
}

function run(backend: "sqlite" | "postgres"): CrowdResult {
  const args = ["--import", "tsx", "bench/run.ts", "--scenario", "crowd", "--backend", backend, "--duration", values.duration!, "--warmup", values.warmup!];
  const child = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (child.status !== 0) throw new Error(`bench/run.ts --backend ${backend} exited with ${child.status}`);
  return JSON.parse(readFileSync(join(ROOT, "bench", "results", `crowd-${backend}.json`), "utf8")) as CrowdResult;
}

const sqlite = run("sqlite");
const postgres = run("postgres");
const perS = (r: CrowdResult) => r.cycles / r.elapsedS;
const ratio = perS(postgres) / perS(sqlite);
const cpuRatio = postgres.cpuUsPerCall / sqlite.cpuUsPerCall;
const p95 = postgres.latencyMs.lock!.p95;
const met = (ok: boolean) => (ok ? "yes" : "NO");
console.log(
  `\nCrowd on both backends (600 connections, create → lock → delete, ${values.duration} s each after ${values.warmup} s of warm-up, SQLite first)\n` +
    table(
      ["measure", "SQLite", "PostgreSQL", "target", "met"],
      [
        ["cycles a second (PostgreSQL ÷ SQLite)", round(perS(sqlite)), `${round(perS(postgres))} (${round(ratio, 2)})`, `≥ ${CYCLES_RATIO}`, met(ratio >= CYCLES_RATIO)],
        ["lock p50 / p95 / p99, ms", ...[sqlite, postgres].map((r) => `${r.latencyMs.lock!.p50} / ${r.latencyMs.lock!.p95} / ${r.latencyMs.lock!.p99}`), `PostgreSQL p95 ≤ ${LOCK_P95_MS}`, met(p95 <= LOCK_P95_MS)],
        ["lock p95 over the whole run, the warm-up's start wave included, ms", ...[sqlite, postgres].map((r) => r.wholeLatencyMs.lock!.p95), "", ""],
        ["server CPU a call, µs (PostgreSQL ÷ SQLite)", sqlite.cpuUsPerCall, `${postgres.cpuUsPerCall} (${round(cpuRatio, 2)})`, `≤ ${CPU_RATIO}×`, met(cpuRatio <= CPU_RATIO)],
        ["PostgreSQL's processes meanwhile, cores", "", postgres.postgresCpuCores ?? "", "", ""],
        ["errors", JSON.stringify(sqlite.errors), JSON.stringify(postgres.errors), "", ""],
      ],
    ),
);
