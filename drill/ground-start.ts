/**
 * A start on a full disk (issue 25): with a fresh data directory and with one a server made
 * before, the server must exit non-zero with one line on stderr saying the disk is full, and
 * no stack trace; and so must a cluster's start (WORKERS=2, primary.ts) on the data directory
 * with data. test/ground-disk.test.ts and `npm run drill:ground` run it.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import Database from "better-sqlite3";
import { join } from "node:path";
import { ROOT, SERVER_ENTRY, freePort, startServer } from "../test/support/server.js";
import { serverEnv } from "../test/support/server-env.js";
import { within } from "./servers.js";
import { mountTmpfs } from "./tmpfs.js";

export interface FailedStart {
  /** The exit code, or "still running" if the server had not exited after 20 s. */
  code: number | null | "still running";
  stderr: string;
}

export interface StartOnFullDiskReport {
  skipped?: string;
  fresh?: FailedStart;
  existing?: FailedStart;
  /** With data, WORKERS=2. */
  cluster?: FailedStart;
}

/** Runs the server on `dataDir` until it exits (a start that fails) or 20 s pass. */
async function startOn(dataDir: string, workers = 1): Promise<FailedStart> {
  const env = { ...serverEnv(dataDir, await freePort()), WORKERS: String(workers) };
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const code = await within(20_000, "the start on a full disk", exited).catch(() => "still running" as const);
  // Gone before the tmpfs is unmounted: its open files would keep it busy.
  child.kill("SIGKILL");
  await exited;
  return { code, stderr };
}

export async function runStartOnFullDisk(): Promise<StartOnFullDiskReport> {
  const disk = mountTmpfs(2 * 1024);
  if ("refused" in disk) return { skipped: disk.refused };
  try {
    const existing = join(disk.dir, "existing");
    const file = join(existing, "zitadel.db");
    const made = await startServer({ dataDir: existing, env: { DATABASE_URL: file } });
    await made.stop();
    // With several workers a stopped server can leave its -wal file: the primary's connection,
    // closed last, checkpoints only if it ever read the WAL. In the WAL's room a start on the full
    // disk succeeds, so the drill makes this the data directory of a server that left none: the
    // checkpoint empties the WAL, and the close of a connection that read it removes the file.
    const db = new Database(file);
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const fresh = join(disk.dir, "fresh");
    mkdirSync(fresh);
    disk.fill();
    return { fresh: await startOn(fresh), existing: await startOn(existing), cluster: await startOn(existing, 2) };
  } finally {
    disk.unmount();
  }
}
