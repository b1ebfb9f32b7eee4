/**
 * Instructions a lock/unlock costs through the app and the SQLite store
 * (`npm run bench:instructions`): a figure that, unlike req/s on a shared machine (20–50% apart
 * a minute later), comes out the same within a few percent on every run. Runs
 * bench/lock-unlock-calls.mjs under `valgrind --tool=callgrind` with two numbers of calls and
 * divides the difference by the calls between them, so start-up, seeding and V8's compiling of
 * the first calls cancel out (over a short window V8's optimizing compiler was half the count).
 * User-space instructions only: the kernel's work for the fdatasync is not in them.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./server.js";

const FEWER = 3_000;
const MORE = 20_000;

function instructions(calls: number, outFolder: string): number {
  const run = spawnSync(
    "valgrind",
    ["--tool=callgrind", `--callgrind-out-file=${join(outFolder, `callgrind.${calls}`)}`, process.execPath, "bench/lock-unlock-calls.mjs", String(calls)],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (run.error) {
    console.error(`bench: valgrind could not be started (${run.error.message}); install it with apt-get install -y valgrind`);
    process.exit(2);
  }
  const collected = /Collected : (\d+)/.exec(run.stderr);
  if (run.status !== 0 || !collected) throw new Error(`valgrind with ${calls} calls failed:\n${run.stderr.slice(-2000)}`);
  return Number(collected[1]);
}

const outFolder = mkdtempSync(join(tmpdir(), "zus-callgrind-"));
try {
  const fewer = instructions(FEWER, outFolder);
  const more = instructions(MORE, outFolder);
  const perCall = (more - fewer) / (MORE - FEWER);
  console.log(`lock/unlock through UserApp and the SQLite store, 64 at a time, ${MORE} minus ${FEWER} calls: ${Math.round(perCall).toLocaleString("en")} instructions a call`);
} finally {
  rmSync(outFolder, { recursive: true });
}
