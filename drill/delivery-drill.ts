/**
 * The delivery drill (issue 22, "Durability drills"): LockUser/UnlockUser load on the real server
 * with three receivers attached (an SSF push stream, an SSF poll stream, an Actions v2 target),
 * the push receiver down for the first half of the operations (and until it has refused a push:
 * deliveries may lag behind the calls, docs/events.md "Calls first"), and SIGKILL at seeded random
 * operation counts, each followed by a restart. On PostgreSQL two instances share the database,
 * each with half of the users' load, and each kill takes one of them while the other goes on.
 * After the load, once the outbox is empty and the poll receiver has acknowledged every SET, what
 * each receiver took is checked against the event log (delivery-check.ts). `npm run drill:delivery`
 * (drill/delivery.ts) and test/delivery-drill.test.ts run it.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { LEASE_MS } from "../src/app/dispatcher.js";
import { ActionsReceiver, attachTarget } from "../test/support/actions-receiver.js";
import { userClient, type Protocol } from "../test/support/clients.js";
import { addHuman } from "../test/support/fixtures.js";
import { startServer, type TestServer } from "../test/support/server.js";
import { until } from "../test/support/wait.js";
import { PushReceiver } from "../test/support/set-receiver.js";
import type { Kill, LoggedEvent, ReceiverFigures } from "./delivery-check.js";
import { drain, loggedEvents } from "./delivery-database.js";
import { PollReceiver, pushedSets } from "./delivery-receivers.js";
import { attachStreams, SETS_OF } from "./delivery-setup.js";
import { judgeReceivers } from "./delivery-verdict.js";
import { startLoad, type DrillUser, type RunningLoad } from "./lock-unlock-load.js";
import { between, seededRandom } from "./prng.js";
import { freshDatabase, kill, track, uncleanLines, within, type Backend, type DrillDatabase } from "./servers.js";
import { verifyAfterCrash } from "./verify-after-crash.js";

export interface DeliveryDrillOptions {
  backend: Backend;
  kills: number;
  /** Lock and unlock calls to commit in all. */
  operations: number;
  seed: number;
  usersCount?: number;
  /** The PostgreSQL server the drill makes its own database on (default TEST_POSTGRES_URL). */
  postgresUrl?: string;
  log?: (line: string) => void;
  keepDatabaseOnViolation?: boolean;
}

export interface DeliveryDrillReport {
  backend: Backend;
  seed: number;
  instances: number;
  kills: number;
  /** Lock and unlock calls committed: acknowledged, and in flight at a kill yet committed. */
  committed: number;
  inFlightCommitted: number;
  inFlightLost: number;
  events: { locked: number; unlocked: number };
  /** The push receiver answered 503 to `refused` pushes until `upAfter` operations had committed. */
  pushDown: { upAfter: number; refused: number };
  receivers: { push: ReceiverFigures; poll: ReceiverFigures; actions: ReceiverFigures };
  /** From the last operation to an empty outbox with every polled SET acknowledged. */
  drainMs: number;
  restartMs?: { min: number; max: number };
  durationMs: number;
  violations: string[];
  keptDatabase?: string;
}

/** Every SET is signed for this issuer, whichever instance signs it. */
const ISSUER = "https://drill.example";
const LONG_POLL_MS = 500;
const PUSH_AUTHORIZATION = "Bearer drill-push";
const PROTOCOLS: Protocol[] = ["grpc", "connect-json"];

interface Instance {
  name: string;
  server: TestServer;
  users: DrillUser[];
  load?: RunningLoad;
  /** How much of the server's output was checked. */
  checked: number;
}

function serverEnv(database: DrillDatabase, instance: string): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: database.url,
    LOG_LEVEL: "info",
    // The Actions payload's instanceID: it names the sender of each request.
    INSTANCE_ID: instance,
    OUTBOUND_URL_ALLOW: "http://127.0.0.1",
    SSF_ISSUER: ISSUER,
    SSF_LONG_POLL_MS: String(LONG_POLL_MS),
    // Retries of the push receiver that is down come quickly, so that the drain is short.
    DELIVERY_MAX_BACKOFF_MS: "500",
  };
}

export async function runDeliveryDrill(options: DeliveryDrillOptions): Promise<DeliveryDrillReport> {
  const started = performance.now();
  const random = seededRandom(options.seed);
  const log = options.log ?? (() => undefined);
  const violations: string[] = [];
  const kills: Kill[] = [];
  const restartMs: number[] = [];
  const inFlight = { committed: 0, lost: 0 };
  const users: DrillUser[] = [];
  const instances: Instance[] = [];
  // Down (503 to every push) for the first half of the operations.
  const push = await new PushReceiver().start();
  push.status = 503;
  const actions = await new ActionsReceiver().start();
  const database = await freshDatabase(options.backend, options.postgresUrl);
  const db = { databaseUrl: database.url };
  let poll: PollReceiver | undefined;
  const report = {
    pushDown: { upAfter: 0, refused: 0 },
    events: [] as LoggedEvent[],
    receivers: {} as DeliveryDrillReport["receivers"],
    drainMs: 0,
  };
  const committed = () => users.reduce((sum, user) => sum + user.changes.length, 0);
  const pushBackUp = () => {
    push.status = 202;
    report.pushDown = { upAfter: committed(), refused: push.refused };
  };

  const checkOutput = (instance: Instance, when: string) => {
    const output = instance.server.output();
    for (const line of uncleanLines(output.slice(instance.checked))) violations.push(`${instance.name} printed ${when}: ${line}`);
    instance.checked = output.length;
  };

  const killAndRestart = async (instance: Instance, round: number) => {
    instance.load!.halt();
    kills.push({ at: Date.now(), instance: instance.name });
    await kill(instance.server);
    checkOutput(instance, `before kill ${round}`);
    await within(20_000, "the calls cut by the kill", instance.load!.done);
    const restarting = performance.now();
    await within(30_000, "the restart", instance.server.restart());
    track(instance.server);
    restartMs.push(Math.round(performance.now() - restarting));
    // Only its own users stand still; the other instance's load goes on and moves the user counts.
    const outcome = await within(30_000, "the check after the restart", verifyAfterCrash(db, instance.users, violations, { counts: instances.length === 1 }));
    inFlight.committed += outcome.committed;
    inFlight.lost += outcome.lost;
    instance.load = startLoad(instance.users, instance.server, violations);
    log(`${options.backend} kill ${round}/${options.kills} (${instance.name}): ${committed()} committed, in flight ${outcome.committed} committed / ${outcome.lost} lost`);
  };

  try {
    const first = track(await startServer({ dataDir: database.dataDir, env: serverEnv(database, "drill-a") }));
    const streams = await attachStreams(first, push.url, PUSH_AUTHORIZATION);
    await attachTarget(first, actions, "drill", Object.keys(SETS_OF));
    const admin = userClient("grpc", first.baseUrl, first.adminToken);
    // Made at once: the server hashes their passwords on its thread pool.
    const ids = await Promise.all(Array.from({ length: options.usersCount ?? 20 }, () => addHuman(admin)));
    users.push(...ids.map((id, i) => ({ id, protocol: PROTOCOLS[i % PROTOCOLS.length]!, changes: [], locked: false, sequence: 1 })));
    // A start reads the streams and executions before its first commit: from here on every lock and unlock has its deliveries.
    await first.restart();
    const servers = [first];
    if (options.backend === "postgres") servers.push(track(await startServer({ dataDir: database.dataDir, env: serverEnv(database, "drill-b") })));
    servers.forEach((server, i) => {
      const name = i === 0 ? "drill-a" : "drill-b";
      instances.push({ name, server, users: users.filter((_, u) => u % servers.length === i), checked: 0 });
    });
    poll = new PollReceiver(() => instances.map((instance) => instance.server.baseUrl), streams.poll.id, streams.poll.token, LONG_POLL_MS);
    poll.start();

    const killPoints = Array.from({ length: options.kills }, () => between(random, 1, Math.max(1, options.operations - 1))).sort((a, b) => a - b);
    const victims = killPoints.map(() => instances[between(random, 0, instances.length - 1)]!);
    for (const instance of instances) instance.load = startLoad(instance.users, instance.server, violations);
    let round = 0;
    while (committed() < options.operations) {
      if (push.status !== 202 && committed() >= options.operations / 2 && push.refused > 0) pushBackUp();
      if (round < killPoints.length && committed() >= killPoints[round]!) await killAndRestart(victims[round]!, ++round);
      else await sleep(5);
    }
    for (const instance of instances) instance.load!.halt();
    await within(20_000, "the last calls", Promise.all(instances.map((instance) => instance.load!.done)));
    if (push.status !== 202) {
      await within(20_000, "a push refused by the receiver that is down", until(() => push.refused > 0, 21_000));
      pushBackUp();
    }
    const loadEnded = performance.now();
    const final = await verifyAfterCrash(db, users, violations);
    inFlight.committed += final.committed;
    inFlight.lost += final.lost;

    await drain(db, streams.poll.id, violations);
    report.drainMs = Math.round(performance.now() - loadEnded);
    await poll.stop();
    log(`${options.backend}: ${committed()} committed, drained ${report.drainMs} ms after the load`);

    report.events = await loggedEvents(db, users);
    const jwks = await (await fetch(`${instances[0]!.server.baseUrl}/ssf/jwks`)).json();
    const sent = { push: pushedSets(push.received, PUSH_AUTHORIZATION), poll, actions: actions.received };
    const afterKill = { restartMs: Math.max(...restartMs, 0), leaseMs: instances.length > 1 ? LEASE_MS : 0 };
    report.receivers = await judgeReceivers(sent, { jwks, issuer: ISSUER, streams }, report.events, kills, afterKill, violations);
  } catch (err) {
    violations.push(`the drill stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await poll?.stop();
    for (const instance of instances) instance.load?.halt();
    for (const instance of instances) {
      const code = await within(20_000, "SIGTERM of the server", instance.server.stop()).catch(() => kill(instance.server));
      checkOutput(instance, "after the last kill");
      if (code !== 0) violations.push(`${instance.name} stopped with ${String(code)} on SIGTERM`);
    }
    await push.stop();
    await actions.stop();
  }

  const keep = violations.length > 0 && options.keepDatabaseOnViolation === true;
  if (!keep) await database.drop();
  const count = (type: string) => report.events.filter((e) => e.type === type).length;
  return {
    backend: options.backend,
    seed: options.seed,
    instances: instances.length,
    kills: kills.length,
    committed: committed(),
    inFlightCommitted: inFlight.committed,
    inFlightLost: inFlight.lost,
    events: { locked: count("user.locked"), unlocked: count("user.unlocked") },
    pushDown: report.pushDown,
    receivers: report.receivers,
    drainMs: report.drainMs,
    restartMs: restartMs.length > 0 ? { min: Math.min(...restartMs), max: Math.max(...restartMs) } : undefined,
    durationMs: Math.round(performance.now() - started),
    violations,
    keptDatabase: keep ? database.url : undefined,
  };
}
