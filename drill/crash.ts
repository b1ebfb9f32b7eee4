/**
 * `npm run drill:crash -- [--kills 20] [--backend sqlite|postgres|all] [--seed N] [--users 20] [--workers N]`:
 * the crash drill on each backend, a table of what happened, exit code 1 on any violation. With
 * `--workers` above 1 the server runs that many workers, and the kills alternate between one
 * worker and the whole group (drill/crash-drill.ts).
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { backendsOf, DRILL_POSTGRES_URL, killServersOnSignals, optionsOr, wholeNumber } from "./cli.js";
import { runCrashDrill, type CrashDrillReport } from "./crash-drill.js";

const USAGE = "usage: npm run drill:crash -- [--kills N] [--backend sqlite|postgres|all] [--seed N] [--users N] [--workers N]";

function parseOptions() {
  return optionsOr(USAGE, () => {
    const { values } = parseArgs({
      options: {
        kills: { type: "string", default: "20" },
        backend: { type: "string", default: "all" },
        seed: { type: "string", default: String(randomInt(2 ** 31)) },
        users: { type: "string", default: "20" },
        workers: { type: "string" },
      },
    });
    return {
      backends: backendsOf(values.backend),
      kills: wholeNumber(values.kills, "kills"),
      seed: wholeNumber(values.seed, "seed"),
      usersCount: wholeNumber(values.users, "users"),
      workers: values.workers === undefined ? undefined : wholeNumber(values.workers, "workers"),
    };
  });
}

function printTable(reports: CrashDrillReport[]): void {
  const rows = reports.map((r) => ({
    backend: r.backend,
    seed: r.seed,
    kills: r.kills,
    "of one worker": r.workerKills,
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
killServersOnSignals();
const reports: CrashDrillReport[] = [];
for (const backend of backends) {
  console.log(`${backend}: ${options.kills} kills, ${options.usersCount} users, seed ${options.seed}`);
  reports.push(await runCrashDrill({ ...options, backend, postgresUrl: DRILL_POSTGRES_URL, log: (line) => console.log(line), keepDatabaseOnViolation: true }));
}
printTable(reports);
process.exit(reports.some((r) => r.violations.length > 0) ? 1 : 0);
