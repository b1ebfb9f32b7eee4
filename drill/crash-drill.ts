/**
 * The crash drill: LockUser/UnlockUser load on the real server, SIGKILL at seeded random moments,
 * and after each restart a check that nothing acknowledged was lost and that the read model agrees
 * with the event log. With `workers`, the kills alternate: one worker (the primary replaces it,
 * no restart), then the whole group at once (the primary and every worker), then a restart; a
 * server made a cluster by the environment's WORKERS has each kill take the whole group.
 * `npm run drill:crash` (drill/crash.ts) and test/crash-drill.test.ts run it.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { userClient, type Protocol } from "../test/support/clients.js";
import { addHuman } from "../test/support/fixtures.js";
import { startServer, type TestServer } from "../test/support/server.js";
import { acknowledgedCount, startLoad, type DrillUser } from "./lock-unlock-load.js";
import { between, seededRandom } from "./prng.js";
import { freshDatabase, kill, killGroup, killWorker, liveWorkers, track, uncleanLines, within, type Backend, type DrillDatabase } from "./servers.js";
import { verifyAfterCrash } from "./verify-after-crash.js";

export type { Backend };

export interface CrashDrillOptions {
  backend: Backend;
  kills: number;
  seed: number;
  usersCount?: number;
  /** The PostgreSQL server the drill makes its own database on (default TEST_POSTGRES_URL). */
  postgresUrl?: string;
  /** One line per kill. */
  log?: (line: string) => void;
  /** Leave the database (and data directory) for a post-mortem when there were violations. */
  keepDatabaseOnViolation?: boolean;
  /** WORKERS for the server (default: the environment's); above 1, odd kills are of one worker. */
  workers?: number;
}

export interface CrashDrillReport {
  backend: Backend;
  seed: number;
  kills: number;
  /** Of the kills, those of one worker. */
  workerKills: number;
  acknowledged: number;
  inFlightCommitted: number;
  inFlightLost: number;
  /** From spawning the server to its first served call, after each kill (none without a restart). */
  restartMs?: { min: number; max: number };
  durationMs: number;
  violations: string[];
  /** Where the database was left for a look, when there were violations. */
  keptDatabase?: string;
}

/** How long the load runs before each kill. */
const LOAD_MS: [number, number] = [150, 1500];
const PROTOCOLS: Protocol[] = ["grpc", "connect-json"];

/** Starts the server on the database and times it until it has served an authenticated call. */
async function startAndServe(database: DrillDatabase, workers: number | undefined): Promise<{ server: TestServer; ms: number }> {
  const started = performance.now();
  const env = { DATABASE_URL: database.url, LOG_LEVEL: "info", ...(workers ? { WORKERS: String(workers) } : {}) };
  const server = await startServer({ dataDir: database.dataDir, env });
  track(server);
  try {
    await userClient("grpc", server.baseUrl, server.adminToken).listUsers({ query: { limit: 1 } }, { timeoutMs: 10_000 });
  } catch (err) {
    await kill(server);
    throw err;
  }
  return { server, ms: Math.round(performance.now() - started) };
}

export async function runCrashDrill(options: CrashDrillOptions): Promise<CrashDrillReport> {
  const started = performance.now();
  const random = seededRandom(options.seed);
  const log = options.log ?? (() => undefined);
  const violations: string[] = [];
  const restartMs: number[] = [];
  const inFlight = { committed: 0, lost: 0 };
  let kills = 0;
  let workerKills = 0;
  /** Workers killed on purpose: the primary's error line about each is expected. */
  const killedWorkers: number[] = [];
  const expected = (line: string) => killedWorkers.some((pid) => line.includes('"msg":"worker died; replacing it"') && line.includes(`"worker":${pid},`));
  const users: DrillUser[] = [];
  const database = await freshDatabase(options.backend, options.postgresUrl);
  let server: TestServer | undefined;
  /** How much of the running server's output was checked when it started (the first start is checked at the first kill). */
  let startOutput = 0;
  try {
    server = (await startAndServe(database, options.workers)).server;
    const admin = userClient("grpc", server.baseUrl, server.adminToken);
    for (let i = 0; i < (options.usersCount ?? 20); i++) {
      users.push({ id: await addHuman(admin), protocol: PROTOCOLS[i % PROTOCOLS.length]!, changes: [], locked: false, sequence: 1 });
    }

    for (let round = 1; round <= options.kills; round++) {
      const load = startLoad(users, server, violations);
      await sleep(between(random, ...LOAD_MS));
      load.halt();
      if ((options.workers ?? 1) > 1 && round % 2 === 1) {
        const workers = liveWorkers(server);
        const victim = workers[Math.floor(random() * workers.length)]!;
        killedWorkers.push(victim);
        await killWorker(server, victim);
        kills++;
        workerKills++;
        await within(20_000, "the calls cut by the kill", load.done);
        const outcome = await within(30_000, "the check after the worker's kill", verifyAfterCrash(server, users, violations));
        inFlight.committed += outcome.committed;
        inFlight.lost += outcome.lost;
        log(`${options.backend} kill ${round}/${options.kills} (worker ${victim}): in flight ${outcome.committed} committed / ${outcome.lost} lost, ${acknowledgedCount(users)} acknowledged so far, ${violations.length} violations`);
        continue;
      }
      // A cluster (asked for, or the environment's: `WORKERS=2 npm test`) crashes whole: the
      // primary's SIGKILL alone would leave its workers to finish the calls in flight.
      await (Number(server.env.WORKERS) > 1 ? killGroup(server) : kill(server));
      kills++;
      for (const line of uncleanLines(server.output().slice(startOutput))) if (!expected(line)) violations.push(`server printed before kill ${round}: ${line}`);
      server = undefined;
      await within(20_000, "the calls cut by the kill", load.done);

      const restarted = await startAndServe(database, options.workers);
      server = restarted.server;
      restartMs.push(restarted.ms);
      startOutput = server.output().length;
      for (const line of uncleanLines(server.output())) violations.push(`start after kill ${round} printed: ${line}`);
      const outcome = await within(30_000, "the check after the restart", verifyAfterCrash(server, users, violations));
      inFlight.committed += outcome.committed;
      inFlight.lost += outcome.lost;
      log(
        `${options.backend} kill ${round}/${options.kills}: restarted in ${restarted.ms} ms, in flight ${outcome.committed} committed / ${outcome.lost} lost, ` +
          `${acknowledgedCount(users)} acknowledged so far, ${violations.length} violations`,
      );
    }
  } catch (err) {
    violations.push(`the drill stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (server) await kill(server).catch(() => undefined);
  }

  const keep = violations.length > 0 && options.keepDatabaseOnViolation === true;
  if (!keep) await database.drop();
  return {
    backend: options.backend,
    seed: options.seed,
    kills,
    workerKills,
    acknowledged: acknowledgedCount(users),
    inFlightCommitted: inFlight.committed,
    inFlightLost: inFlight.lost,
    restartMs: restartMs.length > 0 ? { min: Math.min(...restartMs), max: Math.max(...restartMs) } : undefined,
    durationMs: Math.round(performance.now() - started),
    violations,
    keptDatabase: keep ? database.url : undefined,
  };
}
