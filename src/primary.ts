/**
 * The cluster's primary (WORKERS above 1, main.ts): it makes the first start's data once, then
 * forks WORKERS server processes (serve.ts) that share the one port, replaces a worker that dies,
 * and on SIGTERM or SIGINT has every worker drain, exiting once all have. It serves no call.
 *
 * Connections are handed out round-robin (cluster.SCHED_RR, Node's default on Linux): the primary
 * accepts each connection and passes it to the next worker, which reads, answers and closes it.
 * With SCHED_NONE the workers accept from the shared socket themselves, and Linux wakes them
 * unevenly: a few long-lived connections (an HTTP/2 client has one) could all land on one worker
 * and leave the other cores idle. Round-robin costs the primary one hand-over per connection, not
 * per call.
 *
 * On SQLite it keeps its connection open and runs what must run once per file: the checkpoints
 * (sqlite/checkpointer.ts) and, at start, freeing the deliveries leased by processes that died.
 * It relays what the workers tell each other, and gathers their metrics (cluster-bus.ts).
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { UserApp } from "./app/user-app.js";
import { SigningKeys } from "./app/ssf/signing-keys.js";
import type { Config } from "./config.js";
import { relayBetweenWorkers } from "./cluster-bus.js";
import { firstStart } from "./first-start.js";
import type { Logger } from "./observability/logger.js";
import { clusterMetrics } from "./observability/metrics.js";
import { openStore } from "./store/open.js";

/** The first replacement of a dead worker waits this long; each further one in a row twice as long. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;
/** A worker that served this long before it died starts the backoff over. */
const STABLE_MS = 30_000;

export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  // With a worker on every core, V8's collector threads find no idle core: their parallel work
  // only takes turns from the other workers (bench/FINDINGS.md, "every core, in pairs").
  if (config.workers >= availableParallelism()) cluster.setupPrimary({ execArgv: [...process.execArgv, "--single-threaded-gc"] });
  const store = await openStore(config.databaseUrl, { poolSize: 1, logger, owner: true });
  await firstStart(new UserApp(store), new SigningKeys(store.ssf), config.adminTokenFile, logger);

  const workers = new Map<Worker, { startedAt: number }>();
  /** Set once all the first workers listen; until then a worker's death stops the start. */
  let everListened = false;
  let listening = 0;
  let backoffMs = FIRST_BACKOFF_MS;
  /** Replacements waiting out their backoff. */
  const replacements = new Set<NodeJS.Timeout>();
  let stopping = false;
  let failed = false;

  const fork = () => {
    const worker = cluster.fork();
    workers.set(worker, { startedAt: Date.now() });
    worker.once("listening", ({ port }) => {
      if (everListened || ++listening < config.workers) return;
      everListened = true;
      logger.info({ host: config.host, port, tls: Boolean(config.tls), rpcPath: config.rpcPath, workers: config.workers }, "listening");
    });
  };

  const finish = async () => {
    await store.close();
    logger.info("stopped");
    process.exit(failed ? 1 : 0);
  };

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    for (const timer of replacements) clearTimeout(timer);
    logger.info({ signal, workers: workers.size }, "shutting down: every worker drains");
    if (workers.size === 0) return void finish();
    for (const worker of workers.keys()) worker.process.kill("SIGTERM");
  };

  cluster.on("exit", (worker, code, signal) => {
    const { startedAt } = workers.get(worker) ?? { startedAt: Date.now() };
    workers.delete(worker);
    if (stopping) {
      // Killed by the signal itself (the primary's SIGTERM, or a Ctrl-C's SIGINT to the whole
      // process group): a worker still starting, before its handler was set, with nothing to drain.
      if (code !== 0 && signal !== "SIGTERM" && signal !== "SIGINT") failed = true;
      if (workers.size === 0) void finish();
      return;
    }
    // A worker dead before all the first ones listened: the server cannot start (a port in use,
    // a database it cannot open), as one process would have found; retrying would hide it.
    if (!everListened) {
      logger.fatal({ worker: worker.process.pid, code, signal }, "a worker failed to start");
      failed = true;
      return stop("worker failed to start");
    }
    if (Date.now() - startedAt >= STABLE_MS) backoffMs = FIRST_BACKOFF_MS;
    logger.error({ worker: worker.process.pid, code, signal, replaceInMs: backoffMs }, "worker died; replacing it");
    const timer = setTimeout(() => {
      replacements.delete(timer);
      fork();
    }, backoffMs);
    replacements.add(timer);
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  });

  relayBetweenWorkers(clusterMetrics());
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  logger.info({ workers: config.workers }, "forking workers");
  for (let i = 0; i < config.workers; i++) fork();
}
