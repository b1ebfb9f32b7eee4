/**
 * The disk fills under a SQLite server while LockUser/UnlockUser load runs (issue 25): writes
 * must answer Unavailable saying so, reads keep answering, /readyz says why it is 503, the log
 * says it once, and once the filler is removed writes commit again without a restart; after
 * it, nothing acknowledged is missing from the event log and the file passes
 * `PRAGMA integrity_check`. An Actions v2 target on a real HTTP receiver takes every lock and
 * unlock: the outbox's writes (leases, deletes) are refused while the disk is full too, and
 * every committed change must still reach the receiver once space is back.
 * `npm run drill:ground` (drill/ground.ts) and test/ground-disk.test.ts run it.
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { Code, ConnectError } from "@connectrpc/connect";
import { DISK_FULL } from "../src/store/sqlite/disk-full.js";
import { ActionsReceiver, attachTargetRouted } from "../test/support/actions-receiver.js";
import { userClient } from "../test/support/clients.js";
import { addHuman } from "../test/support/fixtures.js";
import { startServer, type TestServer } from "../test/support/server.js";
import { checkDelivered } from "./ground-postgres-check.js";
import { acknowledgedCount, startLoad, type DrillUser } from "./lock-unlock-load.js";
import { logRows, outboxDrained } from "./log-rows.js";
import { kill, loggedBy, track, within } from "./servers.js";
import { mountTmpfs } from "./tmpfs.js";
import { verifyAfterCrash } from "./verify-after-crash.js";

export interface DiskFullOptions {
  users: number;
  /** How long the disk stays full once the first write was refused. */
  fullMs: number;
  /** How long the load runs before the disk fills, and again after it is freed. */
  loadMs: number;
}

export interface DiskFullReport {
  /** Why the drill did not run (no permission to mount a tmpfs). */
  skipped?: string;
  acknowledged: number;
  /** Writes answered Unavailable because the disk was full. */
  refused: number;
  /** GetUserByID calls answered while the disk was full, of those made. */
  readsServed: number;
  readsMade: number;
  /** What /readyz answered while the disk was full. */
  readyz: string;
  /** From removing the filler to the first write acknowledged after it. */
  resumeMs: number;
  /**
   * By process that logged about the spell (`worker:PID`, `primary:PID`, or `server` alone): its
   * lines saying the disk is full, and that writes resume. Each of a cluster's workers finds the
   * full disk by its own writes and says so in its own lines.
   */
  spellLines: Record<string, { full: number; resumed: number }>;
  /** Requests the Actions receiver took, and how many of them repeated one it had (at least once). */
  deliveries: { received: number; repeats: number };
  integrity: string;
  violations: string[];
}

const SIZE_KIB = 8 * 1024;
/** How long the outbox may take to empty once the load has stopped. */
const DRAIN_LIMIT_MS = 20_000;
/** A refused call comes back at once: each user's loop waits this long before trying again. */
const PAUSE_MS = 20;

const refusedForDisk = (err: unknown) => err instanceof ConnectError && err.code === Code.Unavailable && err.rawMessage === DISK_FULL;

async function until(what: string, ms: number, test: () => boolean): Promise<number> {
  const started = performance.now();
  await within(ms, what, (async () => {
    while (!test()) await sleep(5);
  })());
  return performance.now() - started;
}

export async function runDiskFull(options: DiskFullOptions): Promise<DiskFullReport> {
  const report: DiskFullReport = { acknowledged: 0, refused: 0, readsServed: 0, readsMade: 0, readyz: "", resumeMs: 0, spellLines: {}, deliveries: { received: 0, repeats: 0 }, integrity: "", violations: [] };
  const disk = mountTmpfs(SIZE_KIB);
  if ("refused" in disk) return { ...report, skipped: disk.refused };
  const databaseUrl = join(disk.dir, "zitadel.db");
  let server: TestServer | undefined;
  const receiver = await new ActionsReceiver().start();
  try {
    server = track(await startServer({ dataDir: disk.dir, env: { DATABASE_URL: databaseUrl, LOG_LEVEL: "info", OUTBOUND_URL_ALLOW: "http://127.0.0.1" } }));
    const client = userClient("connect-json", server.baseUrl, server.adminToken);
    const routed = attachTargetRouted(server, receiver, "ground-disk", ["user.locked", "user.unlocked"]);
    const ids = await Promise.all(Array.from({ length: options.users }, () => addHuman(client)));
    await routed;
    const users: DrillUser[] = ids.map((id) => ({ id, protocol: "connect-json", changes: [], locked: false, sequence: 1 }));
    const load = startLoad(users, server, report.violations, {
      expected: (err) => {
        if (!refusedForDisk(err)) return false;
        report.refused++;
        return true;
      },
      pauseMs: PAUSE_MS,
    });
    await sleep(options.loadMs);

    disk.fill();
    await until("the first write refused for the full disk", 20_000, () => report.refused > 0);
    const spellEnds = Date.now() + options.fullMs;
    while (Date.now() < spellEnds) {
      report.readsMade++;
      const user = await client.getUserByID({ userId: ids[report.readsMade % ids.length]! }).catch(() => undefined);
      if (user?.user) report.readsServed++;
      await sleep(50);
    }
    const readyz = await fetch(`${server.baseUrl}/readyz`);
    report.readyz = `${readyz.status} ${(await readyz.text()).trim()}`;

    const acknowledgedWhenFreed = acknowledgedCount(users);
    disk.free();
    report.resumeMs = Math.round(await until("the first write after space was freed", 20_000, () => acknowledgedCount(users) > acknowledgedWhenFreed));
    await sleep(options.loadMs);
    load.halt();
    await within(20_000, "the load's end", load.done);
    await within(30_000, "the check of the event log", verifyAfterCrash(server, users, report.violations));
    report.acknowledged = acknowledgedCount(users);
    if (!(await outboxDrained(server, DRAIN_LIMIT_MS))) report.violations.push(`the outbox still held deliveries ${DRAIN_LIMIT_MS} ms after the load`);
    report.deliveries = { received: receiver.received.length, repeats: checkDelivered(receiver.received, await logRows(server), report.violations) };

    const readyAfter = await fetch(`${server.baseUrl}/readyz`);
    if (readyAfter.status !== 200) report.violations.push(`/readyz after space was freed: ${readyAfter.status}`);
    await within(20_000, "the server's stop", server.stop());
    const lines = server.output().split("\n");
    const linesWith = (text: string) => lines.filter((line) => line.includes(text)).length;
    for (const line of lines) {
      const full = line.includes("disk is full");
      if (!full && !line.includes("writes resume")) continue;
      const said = (report.spellLines[loggedBy(line)] ??= { full: 0, resumed: 0 });
      if (full) said.full++;
      else said.resumed++;
    }
    // A refused write of the outbox or of the SSF tables is Unavailable like a user's, not an internal error.
    const internal = linesWith('"internal error"');
    if (internal > 0) report.violations.push(`the server logged ${internal} internal errors`);
    server = undefined;
    const db = new Database(databaseUrl, { readonly: true });
    report.integrity = String(db.pragma("integrity_check", { simple: true }));
    db.close();
  } catch (err) {
    report.violations.push(`the drill stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (server) await kill(server).catch(() => undefined);
    await receiver.stop();
    disk.unmount();
  }
  return report;
}
