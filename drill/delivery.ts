/**
 * `npm run drill:delivery -- [--kills 10] [--operations 2000] [--backend sqlite|postgres|all] [--seed N] [--users 20]`:
 * the delivery drill on each backend (on PostgreSQL with two instances), its report as JSON,
 * exit code 1 on any violation.
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { backendsOf, DRILL_POSTGRES_URL, killServersOnSignals, optionsOr, wholeNumber } from "./cli.js";
import { runDeliveryDrill, type DeliveryDrillReport } from "./delivery-drill.js";

const USAGE = "usage: npm run drill:delivery -- [--kills N] [--operations N] [--backend sqlite|postgres|all] [--seed N] [--users N]";

function parseOptions() {
  return optionsOr(USAGE, () => {
    const { values } = parseArgs({
      options: {
        kills: { type: "string", default: "10" },
        operations: { type: "string", default: "2000" },
        backend: { type: "string", default: "all" },
        seed: { type: "string", default: String(randomInt(2 ** 31)) },
        users: { type: "string", default: "20" },
      },
    });
    const usersCount = wholeNumber(values.users, "users");
    if (usersCount < 2) throw new Error("--users must be 2 or more (PostgreSQL's two instances get half each)");
    return {
      backends: backendsOf(values.backend),
      kills: wholeNumber(values.kills, "kills"),
      operations: wholeNumber(values.operations, "operations"),
      seed: wholeNumber(values.seed, "seed"),
      usersCount,
    };
  });
}

const { backends, ...options } = parseOptions();
killServersOnSignals();
const reports: DeliveryDrillReport[] = [];
for (const backend of backends) {
  console.error(`${backend}: ${options.kills} kills, ${options.operations} operations, ${options.usersCount} users, seed ${options.seed}`);
  reports.push(await runDeliveryDrill({ ...options, backend, postgresUrl: DRILL_POSTGRES_URL, log: (line) => console.error(line), keepDatabaseOnViolation: true }));
}
// The summary on stdout (progress went to stderr): violations in full.
console.log(JSON.stringify(reports, null, 2));
process.exit(reports.some((r) => r.violations.length > 0) ? 1 : 0);
