/**
 * `npm run drill:ground -- [--users 50] [--full-ms 5000] [--memory-users 1000] [--memory-ms 30000] [--heap-mib 40]`:
 * when the ground gives way (issue 25). A full disk under SQLite during load (drill/ground-disk.ts),
 * a start on a full disk (drill/ground-start.ts), the server near its memory limit
 * (drill/ground-memory.ts) and PostgreSQL restarted under load (drill/ground-postgres.ts: it
 * stops and starts the machine's cluster, so nothing else may use it meanwhile). Prints a table
 * of figures per part; exit code 1 on any violation.
 */
import { parseArgs } from "node:util";
import { DRILL_POSTGRES_URL, killServersOnSignals, optionsOr, wholeNumber } from "./cli.js";
import { runDiskFull } from "./ground-disk.js";
import { runMemoryPressure } from "./ground-memory.js";
import { runPostgresRestart } from "./ground-postgres.js";
import { runStartOnFullDisk } from "./ground-start.js";

const USAGE = "usage: npm run drill:ground -- [--users N] [--full-ms N] [--memory-users N] [--memory-ms N] [--heap-mib N]";

function parseOptions() {
  return optionsOr(USAGE, () => {
    const { values } = parseArgs({
      options: {
        users: { type: "string", default: "50" },
        "full-ms": { type: "string", default: "5000" },
        "memory-users": { type: "string", default: "1000" },
        "memory-ms": { type: "string", default: "30000" },
        "heap-mib": { type: "string", default: "40" },
      },
    });
    return {
      users: wholeNumber(values.users, "users"),
      fullMs: wholeNumber(values["full-ms"], "full-ms"),
      memoryUsers: wholeNumber(values["memory-users"], "memory-users"),
      memoryMs: wholeNumber(values["memory-ms"], "memory-ms"),
      heapMiB: wholeNumber(values["heap-mib"], "heap-mib"),
    };
  });
}

const options = parseOptions();
killServersOnSignals();
const violations: string[] = [];

const disk = await runDiskFull({ users: options.users, fullMs: options.fullMs, loadMs: 3000 });
console.log("disk full under load");
if (disk.skipped) console.log(`skipped: ${disk.skipped}`);
else {
  console.table([
    {
      acknowledged: disk.acknowledged,
      "refused (Unavailable)": disk.refused,
      "reads served": `${disk.readsServed}/${disk.readsMade}`,
      "/readyz while full": disk.readyz.slice(0, 3),
      "log lines: full / resumed, by process": Object.values(disk.spellLines).map(({ full, resumed }) => `${full} / ${resumed}`).join(", "),
      "resume ms": disk.resumeMs,
      "deliveries: received / repeats": `${disk.deliveries.received} / ${disk.deliveries.repeats}`,
      integrity: disk.integrity,
      violations: disk.violations.length,
    },
  ]);
  violations.push(...disk.violations.map((v) => `disk: ${v}`));
}

const start = await runStartOnFullDisk();
console.log("start on a full disk");
if (start.skipped) console.log(`skipped: ${start.skipped}`);
else console.table([{ data: "fresh", ...start.fresh }, { data: "existing", ...start.existing }, { data: "existing, WORKERS=2", ...start.cluster }]);

const memory = await runMemoryPressure({ users: options.memoryUsers, listers: 20, watchers: 100, runMs: options.memoryMs, heapMiB: options.heapMiB });
console.log(`memory pressure (--max-old-space-size=${options.heapMiB}, ${options.memoryUsers} users, 20 listers, 100 watchers)`);
console.table([
  {
    ended: memory.ended,
    acknowledged: memory.acknowledged,
    "late (over 10 s)": memory.late,
    "shed: writes / lists / watches": `${memory.shed.writes} / ${memory.shed.lists} / ${memory.shed.watches}`,
    "lists served": memory.lists,
    "watches ended: exhausted / other": `${memory.watchesEnded.exhausted} / ${memory.watchesEnded.other}`,
    "peak RSS MiB": memory.peakRssMiB,
    "peak heap MiB": memory.peakHeapMiB,
    violations: memory.violations.length,
  },
]);
violations.push(...memory.violations.map((v) => `memory: ${v}`));

const postgres = await runPostgresRestart({ url: DRILL_POSTGRES_URL });
console.log(`PostgreSQL restarted under load (${postgres.instances} instances, away ${postgres.downMs} ms; ms from its return)`);
console.table([
  {
    acknowledged: postgres.acknowledged,
    "unavailable in the gap": postgres.gap.unavailable,
    "/readyz 200": postgres.recovery.readyMs,
    "first write": postgres.recovery.firstWriteMs,
    "first watch event": postgres.recovery.firstWatchEventMs,
    "first delivery": postgres.recovery.firstDeliveryMs,
    "deliveries: received / repeats": `${postgres.deliveries.received} / ${postgres.deliveries.repeats}`,
    violations: postgres.violations.length,
  },
]);
violations.push(...postgres.violations.map((v) => `postgres: ${v}`));

for (const violation of violations) console.log(violation);
process.exit(violations.length > 0 ? 1 : 0);
