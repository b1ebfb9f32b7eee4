/**
 * `npm run drill:crash -- [--kills 20] [--backend sqlite|postgres|all] [--seed N] [--users 20]`:
 * the crash drill on each backend, a table of what happened, exit code 1 on any violation.
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { runCrashDrill, type Backend, type CrashDrillReport } from "./crash-drill.js";
import { killDrillServers } from "./servers.js";

const USAGE = "usage: npm run drill:crash -- [--kills N] [--backend sqlite|postgres|all] [--seed N] [--users N]";

function wholeNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number`);
  return Number(text);
}

function parseOptions() {
  try {
    const { values } = parseArgs({
      options: {
        kills: { type: "string", default: "20" },
        backend: { type: "string", default: "all" },
        seed: { type: "string", default: String(randomInt(2 ** 31)) },
        users: { type: "string", default: "20" },
      },
    });
    const backends: Record<string, Backend[]> = { sqlite: ["sqlite"], postgres: ["postgres"], all: ["sqlite", "postgres"] };
    const chosen = backends[values.backend];
    if (!chosen) throw new Error(`unknown backend ${values.backend}`);
    return { backends: chosen, kills: wholeNumber(values.kills, "kills"), seed: wholeNumber(values.seed, "seed"), usersCount: wholeNumber(values.users, "users") };
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
}

function printTable(reports: CrashDrillReport[]): void {
  const rows = reports.map((r) => ({
    backend: r.backend,
    seed: r.seed,
    kills: r.kills,
    acknowledged: r.acknowledged,
    "in flight committed": r.inFlightCommitted,
    "in flight lost": r.inFlightLost,
    "restart ms (min–max)": r.restartMs ? `${r.restartMs.min}–${r.restartMs.max}` : "-",
    "run s": (r.durationMs / 1000).toFixed(1),
    violations: r.violations.length,
  }));
  console.table(rows);
  for (const report of reports) {
    for (const violation of report.violations) console.log(`${report.backend}: ${violation}`);
    if (report.keptDatabase) console.log(`${report.backend}: database kept at ${report.keptDatabase}`);
  }
}

const { backends, ...options } = parseOptions();
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.once(signal, () => {
    killDrillServers();
    process.exit(code);
  });
}
const postgresUrl = process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test";
const reports: CrashDrillReport[] = [];
for (const backend of backends) {
  console.log(`${backend}: ${options.kills} kills, ${options.usersCount} users, seed ${options.seed}`);
  reports.push(await runCrashDrill({ ...options, backend, postgresUrl, log: (line) => console.log(line), keepDatabaseOnViolation: true }));
}
printTable(reports);
process.exit(reports.some((r) => r.violations.length > 0) ? 1 : 0);
