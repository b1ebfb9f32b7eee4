/** Statistics, the machine's description, the printed table and the JSON files in bench/results/. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { join, relative } from "node:path";
import { ROOT } from "./server.js";

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: number[]): Latency {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]! : NaN);
  const r = (x: number) => Math.round(x * 100) / 100;
  let sum = 0;
  for (const x of s) sum += x;
  return { count: s.length, p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(s.length ? s[s.length - 1]! : NaN), mean: r(sum / (s.length || 1)) };
}

export function machine() {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model,
    node: process.version,
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    kernel: readFileSync("/proc/version", "utf8").split(" ").slice(0, 3).join(" "),
    loadAverageAtEnd: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  };
}

export function writeResult(scenario: string, backend: string, data: object): string {
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${scenario}-${backend}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return relative(ROOT, file);
}

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c ?? "").padEnd(widths[i]!)).join(" | ")} |`;
  return [line(cells[0]!), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.slice(1).map(line)].join("\n");
}

export const pass = (ok: boolean) => (ok ? "yes" : "NO");

/** `x` to `d` decimals. */
export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The middle value (the upper middle one of an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
