/**
 * A start on a full disk (issue 25): with a fresh data directory and with one a server made
 * before, the server must exit non-zero with one line on stderr saying the disk is full, and
 * no stack trace. test/ground-disk.test.ts and `npm run drill:ground` run it.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, SERVER_ENTRY, freePort, startServer } from "../test/support/server.js";
import { serverEnv } from "../test/support/server-env.js";
import { within } from "./servers.js";
import { mountTmpfs } from "./tmpfs.js";

export interface FailedStart {
  code: number | null;
  stderr: string;
}

export interface StartOnFullDiskReport {
  skipped?: string;
  fresh?: FailedStart;
  existing?: FailedStart;
}

/** Runs the server on `dataDir` until it exits (a start that fails) or 20 s pass. */
async function startOn(dataDir: string): Promise<FailedStart> {
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env: serverEnv(dataDir, await freePort()), stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  try {
    const code = await within(20_000, "the start on a full disk", new Promise<number | null>((resolve) => child.once("exit", resolve)));
    return { code, stderr };
  } finally {
    child.kill("SIGKILL");
  }
}

export async function runStartOnFullDisk(): Promise<StartOnFullDiskReport> {
  const disk = mountTmpfs(2 * 1024);
  if ("refused" in disk) return { skipped: disk.refused };
  try {
    const existing = join(disk.dir, "existing");
    const made = await startServer({ dataDir: existing, env: { DATABASE_URL: join(existing, "zitadel.db") } });
    await made.stop();
    const fresh = join(disk.dir, "fresh");
    mkdirSync(fresh);
    disk.fill();
    return { fresh: await startOn(fresh), existing: await startOn(existing) };
  } finally {
    disk.unmount();
  }
}
