/**
 * PostgreSQL goes away under load and comes back (issue 25, "PostgreSQL restarted under load").
 * Real servers on a database of the drill's own; LockUser/UnlockUser load through the first; a
 * watcher on each from one position (on the others, the events come through their polls of the
 * log); an Actions v2 target on a real receiver for every lock and unlock; `/readyz` and a REST
 * read probed on each throughout. Then the outage: a real restart of the cluster
 * (`pg_ctlcluster`, the default: run it only under `flock /tmp/heavy.lock` on a shared machine),
 * or this database's backends terminated again and again (what `npm test` does). Afterwards:
 * calls in the gap answered Unavailable (REST 503) without SQL; every acknowledged change is in
 * the log; `/readyz` was 503 in the gap and 200 after; each watcher, resuming from the position
 * its stream ended with, got every later event once; the receiver got every committed lock and
 * unlock; the servers logged no SQL and no stack; and writes, watch events and deliveries came
 * back within seconds of the database's return (ground-postgres-figures.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { ActionsReceiver, attachTargetRouted } from "../test/support/actions-receiver.js";
import { transport, userClient, type Protocol } from "../test/support/clients.js";
import { addHuman } from "../test/support/fixtures.js";
import { startServer, type TestServer } from "../test/support/server.js";
import { until } from "../test/support/wait.js";
import { DRILL_POSTGRES_URL } from "./cli.js";
import { actionsArrivals, checkAcknowledged, checkDelivered, checkWatched, type LogRow } from "./ground-postgres-check.js";
import { figures, type GapFigures, type RecoveryFigures } from "./ground-postgres-figures.js";
import { LEAKS_SQL, startGapLoad, type GapLoad } from "./ground-postgres-load.js";
import { outage, type OutageKind } from "./ground-postgres-outage.js";
import { startProbes, type Probes } from "./ground-postgres-probes.js";
import { startResumingWatch, type ResumingWatch } from "./ground-postgres-watch.js";
import { logRows, outboxDrained } from "./log-rows.js";
import { freshDatabase, kill, loggedBy, track, uncleanLines, within } from "./servers.js";

export interface PostgresRestartOptions {
  /** The PostgreSQL server the drill makes its database on (default TEST_POSTGRES_URL, else the machine's). */
  url?: string;
  /** How long the database is away (default 3). */
  seconds?: number;
  /** "restart" (default) restarts the whole cluster; "terminate" empties only the drill's database. */
  outage?: OutageKind;
  /** The cluster `pg_ctlcluster` restarts, as <version>/<name> (default 15/main). */
  cluster?: string;
  /** Server processes on the database (default 2): the first takes the load, each has a watcher. */
  instances?: number;
  /** Users under load through the first instance (default 8). */
  users?: number;
  log?: (line: string) => void;
}

export interface PostgresRestartReport {
  outage: OutageKind;
  instances: number;
  /** From the restart's stop (or the first termination) to the first query answered (or the last termination). */
  downMs: number;
  acknowledged: number;
  gap: GapFigures;
  recovery: RecoveryFigures;
  watch: { resumed: number; reopened: number; events: number };
  deliveries: { received: number; repeats: number };
  /** Warnings and errors the servers logged (none may be an internal error, show SQL or a stack). */
  errorLines: number;
  durationMs: number;
  violations: string[];
}

const LOAD_BEFORE_MS = 1_000;
/** After the return, before the load stops: long enough for every recovery to be seen. */
const LOAD_AFTER_MS = 2_000;
const DRAIN_LIMIT_MS = 20_000;
const PROTOCOLS: Protocol[] = ["grpc", "connect-json"];

interface Instance {
  name: string;
  server: TestServer;
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
    recovery: { lastUnavailableMs: 0, watchLagMs: 0, deliveryLagMs: 0 },
    watch: { resumed: 0, reopened: 0, events: 0 },
    deliveries: { received: 0, repeats: 0 },
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

  let load: GapLoad | undefined;
  try {
    const first = await start("ground-a");
    const routed = attachTargetRouted(first, receiver, "ground", ["user.locked", "user.unlocked"]);
    const admin = userClient("grpc", first.baseUrl, first.adminToken);
    const others = Array.from({ length: report.instances - 1 }, (_, i) => start(`ground-${String.fromCharCode(98 + i)}`));
    const ids = await Promise.all(Array.from({ length: options.users ?? 8 }, () => addHuman(admin)));
    await Promise.all([...others, routed]);

    // Every watcher starts from the same position, before the first change of the load.
    const records = createClient(UserRecordService, transport("grpc", first.baseUrl, first.adminToken));
    const { position } = await records.listUserEvents({ userId: ids[0]! });
    const before = new Set((await logRows(db)).map((row) => `${row.userId}#${row.sequence}`));
    for (const instance of instances) {
      instance.watch = startResumingWatch(instance.server, position, `${instance.name}'s watcher`, violations);
      instance.probes = startProbes(instance.server, ids[0]!, violations);
    }
    load = startGapLoad(ids.map((id, u) => ({ id, protocol: PROTOCOLS[u % PROTOCOLS.length]! })), first, violations);
    log(`postgres ${kind}: ${instances.length} servers, ${ids.length} users, load and watchers running after ${Date.now() - started} ms`);
    await sleep(LOAD_BEFORE_MS);

    log(`postgres ${kind}: the database goes away for ${options.seconds ?? 3} s`);
    const dbName = new URL(database.url).pathname.slice(1);
    const gone = await outage(kind, serverUrl, dbName, (options.seconds ?? 3) * 1000, options.cluster ?? "15/main");
    report.downMs = gone.backAt - gone.wentAt;
    log(`postgres ${kind}: back after ${report.downMs} ms`);
    await sleep(LOAD_AFTER_MS);
    await within(30_000, "the load's last calls", load.halt());

    // Everything committed has gone out and has been watched.
    const drained = await outboxDrained(db, DRAIN_LIMIT_MS);
    log(`postgres ${kind}: outbox drained ${Date.now() - gone.backAt - LOAD_AFTER_MS} ms after the load`);
    if (!drained) violations.push(`the outbox still held deliveries ${DRAIN_LIMIT_MS} ms after the load`);
    const rows = await logRows(db);
    const after = rows.filter((row) => !before.has(`${row.userId}#${row.sequence}`));
    await until(() => instances.every((instance) => instance.watch!.events.length >= after.length), DRAIN_LIMIT_MS).catch(() => undefined);
    for (const instance of instances) await Promise.all([instance.watch!.stop(), instance.probes!.stop()]);

    report.acknowledged = load.acknowledged.length;
    checkAcknowledged(load.acknowledged, rows, violations);
    for (const instance of instances) checkWatched(`${instance.name}'s watcher`, instance.watch!.events, after, violations);
    report.deliveries = { received: receiver.received.length, repeats: checkDelivered(receiver.received, rows, violations) };
    const seen = {
      outage: gone,
      acknowledged: load.acknowledged,
      load: load.figures,
      probed: instances.flatMap((instance) => instance.probes!.answers),
      watched: instances.map((instance) => instance.watch!.events),
      delivered: actionsArrivals(receiver.received),
    };
    Object.assign(report, figures(seen, violations));
    report.watch = {
      resumed: instances.reduce((sum, instance) => sum + instance.watch!.resumed, 0),
      reopened: instances.reduce((sum, instance) => sum + instance.watch!.reopened, 0),
      events: instances.reduce((sum, instance) => sum + instance.watch!.events.length, 0),
    };
  } catch (err) {
    violations.push(`the drill stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await load?.halt();
    await Promise.all(instances.map((instance) => stopChecked(instance, report, violations)));
    await receiver.stop();
    await database.drop();
  }
  report.durationMs = Date.now() - started;
  return report;
}

/** Stops an instance's watcher, probes and server, and checks what the server logged. */
async function stopChecked(instance: Instance, report: PostgresRestartReport, violations: string[]): Promise<void> {
  await instance.watch?.stop();
  await instance.probes?.stop();
  const code = await within(20_000, "SIGTERM of the server", instance.server.stop()).catch(() => kill(instance.server));
  if (code !== 0) violations.push(`${instance.name} stopped with ${String(code)} on SIGTERM`);
  const lines = uncleanLines(instance.server.output());
  report.errorLines += lines.length;
  // A database that is away is a warning once per spell (app/unavailable-log.ts), not an internal error per failure.
  const wrong = (l: string) => LEAKS_SQL.test(l) || /^\s+at /.test(l) || !l.startsWith("{") || l.includes('"msg":"internal error"');
  for (const line of lines.filter(wrong)) violations.push(`${instance.name} logged: ${line.slice(0, 300)}`);
  // Once per process: each of a cluster's workers (WORKERS=2 npm test) meets the outage by its own calls.
  const warnings = new Map<string, number>();
  for (const l of lines) if (l.includes('"msg":"the database is unavailable')) warnings.set(loggedBy(l), (warnings.get(loggedBy(l)) ?? 0) + 1);
  for (const [who, n] of warnings) if (n > 1) violations.push(`${instance.name} (${who}) warned ${n} times that the database is unavailable, for one outage`);
}
