/**
 * PostgreSQL goes away under load and comes back (issue 25, "PostgreSQL restarted under load").
 * Real servers on a database of the drill's own, LockUser/UnlockUser load on each, a watcher on
 * each from a position, an Actions v2 target on a real receiver for every lock and unlock, and
 * `/readyz` and a REST read probed throughout; then the outage: a real restart of the cluster
 * (`pg_ctlcluster`, the default: run it only under `flock /tmp/heavy.lock` on a shared machine),
 * or this database's backends terminated again and again (what `npm test` does). Afterwards:
 * calls in the gap answered Unavailable (REST 503) without SQL; every acknowledged change is in
 * the log; `/readyz` was 503 in the gap and 200 after; each watcher, resuming from the position
 * its stream ended with, got every later event once; the receiver got every committed lock and
 * unlock; and writes, watch events and deliveries came back within RECOVERY_LIMIT_MS of the
 * database's return, which the figures measure.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { ActionsReceiver, attachTarget } from "../test/support/actions-receiver.js";
import { transport, userClient, type Protocol } from "../test/support/clients.js";
import { query } from "../test/support/db.js";
import { addHuman } from "../test/support/fixtures.js";
import { startServer, type TestServer } from "../test/support/server.js";
import { until } from "../test/support/wait.js";
import { DRILL_POSTGRES_URL } from "./cli.js";
import { checkAcknowledged, checkDelivered, checkWatched, longestDeliveryLag, type LogRow } from "./ground-postgres-check.js";
import { LEAKS_SQL, startGapLoad, type GapLoad } from "./ground-postgres-load.js";
import { outage, type OutageKind } from "./ground-postgres-outage.js";
import { startProbes, type Probes } from "./ground-postgres-probes.js";
import { startResumingWatch, type ResumingWatch } from "./ground-postgres-watch.js";
import { freshDatabase, kill, track, uncleanLines, within } from "./servers.js";

export interface PostgresRestartOptions {
  /** The PostgreSQL server the drill makes its database on (default TEST_POSTGRES_URL, else the machine's). */
  url?: string;
  /** How long the database is away (default 3). */
  seconds?: number;
  /** "restart" (default) restarts the whole cluster; "terminate" empties only the drill's database. */
  outage?: OutageKind;
  /** The cluster `pg_ctlcluster` restarts, as <version>/<name> (default 15/main). */
  cluster?: string;
  /** Server processes on the database (default 2): each has its own load and watcher. */
  instances?: number;
  /** Users under load (default 8), shared out among the instances. */
  users?: number;
  log?: (line: string) => void;
}

export interface PostgresRestartReport {
  outage: OutageKind;
  instances: number;
  /** How long the database was away, as the drill took it away. */
  downMs: number;
  acknowledged: number;
  /** Answers while the database was away: calls and REST reads. */
  gap: { unavailable: number; readyz503: number; readyz200: number; rest503: number };
  /** From the database's return to the first of each; undefined if it never came. */
  recovery: { readyMs?: number; firstWriteMs?: number; firstWatchEventMs?: number; firstDeliveryMs?: number; lastUnavailableMs?: number };
  watch: { resumed: number; reopened: number; events: number };
  /** `longestLagMs`: from an acknowledgement to its change's arrival at the receiver, the longest. */
  deliveries: { received: number; repeats: number; longestLagMs: number };
  /** Warnings and errors the servers logged (each is checked for SQL and stacks). */
  errorLines: number;
  durationMs: number;
  violations: string[];
}

/** What "within seconds of PostgreSQL's return" means here. */
export const RECOVERY_LIMIT_MS = 5_000;
const LOAD_BEFORE_MS = 1_000;
/** After the return, before the load stops: long enough for every recovery to be seen. */
const LOAD_AFTER_MS = 2_000;
const DRAIN_LIMIT_MS = 20_000;
const PROTOCOLS: Protocol[] = ["grpc", "connect-json"];

interface Instance {
  name: string;
  server: TestServer;
  load?: GapLoad;
  watch?: ResumingWatch;
  probes?: Probes;
}

export async function runPostgresRestart(options: PostgresRestartOptions = {}): Promise<PostgresRestartReport> {
  const started = Date.now();
  const kind = options.outage ?? "restart";
  const serverUrl = options.url ?? DRILL_POSTGRES_URL;
  const log = options.log ?? (() => undefined);
  const violations: string[] = [];
  const receiver = await new ActionsReceiver().start();
  const database = await freshDatabase("postgres", serverUrl);
  const db = { databaseUrl: database.url };
  const instances: Instance[] = [];
  const report: PostgresRestartReport = {
    outage: kind,
    instances: options.instances ?? 2,
    downMs: 0,
    acknowledged: 0,
    gap: { unavailable: 0, readyz503: 0, readyz200: 0, rest503: 0 },
    recovery: {},
    watch: { resumed: 0, reopened: 0, events: 0 },
    deliveries: { received: 0, repeats: 0, longestLagMs: 0 },
    errorLines: 0,
    durationMs: 0,
    violations,
  };
  const env = { DATABASE_URL: database.url, OUTBOUND_URL_ALLOW: "http://127.0.0.1", WATCH_HEARTBEAT_MS: "500", LOG_LEVEL: "info" };
  const start = async (name: string) => {
    const server = track(await startServer({ dataDir: database.dataDir, env: { ...env, INSTANCE_ID: name } }));
    instances.push({ name, server });
    return server;
  };

  try {
    const first = await start("ground-a");
    const attached = attachTarget(first, receiver, "ground", ["user.locked", "user.unlocked"]).then(() => Date.now());
    const admin = userClient("grpc", first.baseUrl, first.adminToken);
    const others = Array.from({ length: report.instances - 1 }, (_, i) => start(`ground-${String.fromCharCode(98 + i)}`));
    const ids = await Promise.all(Array.from({ length: options.users ?? 8 }, () => addHuman(admin)));
    await Promise.all(others);
    // Executions reach a running server's routes on its next refresh, within a second (app/delivery.ts).
    await sleep(Math.max(0, (await attached) + 1_500 - Date.now()));

    // Every watcher starts from the same position, before the first change of the load.
    const records = createClient(UserRecordService, transport("grpc", first.baseUrl, first.adminToken));
    const { position } = await records.listUserEvents({ userId: ids[0]! });
    const before = new Set((await logRows(db)).map((row) => `${row.userId}#${row.sequence}`));
    instances.forEach((instance, i) => {
      const own = ids.filter((_, u) => u % instances.length === i).map((id, u) => ({ id, protocol: PROTOCOLS[u % PROTOCOLS.length]! }));
      instance.watch = startResumingWatch(instance.server, position, `${instance.name}'s watcher`, violations);
      instance.load = startGapLoad(own, instance.server, violations);
      instance.probes = startProbes(instance.server, ids[0]!, violations);
    });
    log(`postgres ${kind}: ${instances.length} servers, ${ids.length} users, load and watchers running after ${Date.now() - started} ms`);
    await sleep(LOAD_BEFORE_MS);

    log(`postgres ${kind}: the database goes away for ${options.seconds ?? 3} s`);
    const dbName = new URL(database.url).pathname.slice(1);
    const { wentAt, backAt } = await outage(kind, serverUrl, dbName, (options.seconds ?? 3) * 1000, options.cluster ?? "15/main");
    report.downMs = backAt - wentAt;
    log(`postgres ${kind}: back after ${report.downMs} ms`);
    await sleep(LOAD_AFTER_MS);
    await within(30_000, "the load's last calls", Promise.all(instances.map((instance) => instance.load!.halt())));

    // Everything committed has gone out and has been watched.
    const drained = await outboxDrained(db);
    log(`postgres ${kind}: outbox drained ${Date.now() - backAt - LOAD_AFTER_MS} ms after the load`);
    if (!drained) violations.push(`the outbox still held deliveries ${DRAIN_LIMIT_MS} ms after the load`);
    const rows = await logRows(db);
    const after = rows.filter((row) => !before.has(`${row.userId}#${row.sequence}`));
    await until(() => instances.every((instance) => instance.watch!.events.length >= after.length), DRAIN_LIMIT_MS).catch(() => undefined);
    for (const instance of instances) await Promise.all([instance.watch!.stop(), instance.probes!.stop()]);

    const acknowledged = instances.flatMap((instance) => instance.load!.acknowledged);
    report.acknowledged = acknowledged.length;
    checkAcknowledged(acknowledged, rows, violations);
    for (const instance of instances) checkWatched(`${instance.name}'s watcher`, instance.watch!.events, after, violations);
    const repeats = checkDelivered(receiver.received, rows, violations);
    report.deliveries = { received: receiver.received.length, repeats, longestLagMs: longestDeliveryLag(acknowledged, receiver.received) };
    const unavailable = instances.map((instance) => instance.load!.figures.unavailable);
    report.gap.unavailable = unavailable.reduce((sum, u) => sum + u.count, 0);
    const probed = instances.flatMap((instance) => instance.probes!.answers);
    const inGap = probed.filter((p) => p.at >= wentAt && p.at <= backAt);
    report.gap.readyz503 = inGap.filter((p) => p.ready === 503).length;
    report.gap.readyz200 = inGap.filter((p) => p.ready === 200).length;
    report.gap.rest503 = inGap.filter((p) => p.rest === 503).length;
    if (report.gap.readyz503 === 0) violations.push("/readyz never answered 503 while the database was away");
    const firstAfter = (times: number[]) => {
      const later = times.filter((at) => at > backAt);
      return later.length > 0 ? Math.min(...later) - backAt : undefined;
    };
    const lastReady503 = Math.max(backAt, ...probed.filter((p) => p.ready !== 200).map((p) => p.at));
    report.recovery = {
      readyMs: firstAfter(probed.filter((p) => p.ready === 200 && p.at > lastReady503).map((p) => p.at)),
      firstWriteMs: firstAfter(acknowledged.map((a) => a.at)),
      firstWatchEventMs: firstAfter(instances.flatMap((instance) => instance.watch!.events.map((e) => e.at))),
      firstDeliveryMs: firstAfter(receiver.received.map((call) => call.at)),
    };
    for (const [what, ms] of Object.entries(report.recovery)) {
      if (ms === undefined || ms > RECOVERY_LIMIT_MS) violations.push(`${what}: ${ms ?? "never"} (limit ${RECOVERY_LIMIT_MS} ms)`);
    }
    report.recovery.lastUnavailableMs = Math.max(0, ...unavailable.map((u) => (u.last ?? 0) - backAt));
    if (report.recovery.lastUnavailableMs > RECOVERY_LIMIT_MS) violations.push(`calls still answered Unavailable ${report.recovery.lastUnavailableMs} ms after the return`);
    report.watch = {
      resumed: instances.reduce((sum, instance) => sum + instance.watch!.resumed, 0),
      reopened: instances.reduce((sum, instance) => sum + instance.watch!.reopened, 0),
      events: instances.reduce((sum, instance) => sum + instance.watch!.events.length, 0),
    };
  } catch (err) {
    violations.push(`the drill stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    for (const instance of instances) {
      await instance.load?.halt();
      await instance.watch?.stop();
      await instance.probes?.stop();
      const code = await within(20_000, "SIGTERM of the server", instance.server.stop()).catch(() => kill(instance.server));
      if (code !== 0) violations.push(`${instance.name} stopped with ${String(code)} on SIGTERM`);
      const lines = uncleanLines(instance.server.output());
      report.errorLines += lines.length;
      for (const line of lines.filter((l) => LEAKS_SQL.test(l) || /^\s+at /.test(l) || !l.startsWith("{"))) violations.push(`${instance.name} logged: ${line.slice(0, 300)}`);
    }
    await receiver.stop();
    await database.drop();
  }
  report.durationMs = Date.now() - started;
  return report;
}

async function logRows(db: { databaseUrl: string }): Promise<LogRow[]> {
  const rows = await query<LogRow>(db, `select aggregate_id as "userId", sequence, type from events order by aggregate_id, sequence`);
  return rows.map((row) => ({ ...row, sequence: Number(row.sequence) }));
}

/** Waits until the outbox is empty; false if it is not within DRAIN_LIMIT_MS. */
async function outboxDrained(db: { databaseUrl: string }): Promise<boolean> {
  const deadline = Date.now() + DRAIN_LIMIT_MS;
  while (Date.now() < deadline) {
    const [row] = await query<{ n: string }>(db, "select count(*) as n from outbox");
    if (Number(row!.n) === 0) return true;
    await sleep(100);
  }
  return false;
}
