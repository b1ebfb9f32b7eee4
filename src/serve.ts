/**
 * One server process: store → app → server; SIGTERM and SIGINT drain in-flight calls, then close
 * the store. The only process with WORKERS=1, else each of the cluster's workers (main.ts).
 */
import { setMaxListeners } from "node:events";
import { ActionsApp } from "./app/actions.js";
import { DeliveryAdmin } from "./app/delivery-admin.js";
import { UserApp } from "./app/user-app.js";
import { EventHub } from "./app/event-hub.js";
import { Watching } from "./app/watch.js";
import { Delivery } from "./app/delivery.js";
import { ProcessCourier } from "./app/courier-process.js";
import type { Config } from "./config.js";
import { firstStart } from "./first-start.js";
import { WorkerBus, type Note } from "./cluster-bus.js";
import { createDispatcher } from "./edge/dispatch.js";
import { logInternalError, type Logger } from "./observability/logger.js";
import { createMetrics } from "./observability/metrics.js";
import { HeapPressure } from "./observability/heap-pressure.js";
import { Readiness } from "./app/readiness.js";
import { backgroundErrorLog } from "./app/unavailable-log.js";
import { FailureLimiter } from "./security/failure-limiter.js";
import { listen } from "./edge/server.js";
import { SettingsApp } from "./app/settings.js";
import { SignInApp } from "./app/sign-in.js";
import { openStore } from "./store/open.js";
import { SigningKeys } from "./app/ssf/signing-keys.js";
import { SsfStreams } from "./app/ssf/streams.js";

/** Locks with an end are ended by the system within a second of it (EXTENSIONS.md §1): swept four times a second. */
const LOCK_SWEEP_MS = 250;

/** Events the watch hub reads at a time (event-hub.ts). */
const HUB_BATCH = 1000;

/** After the calls have drained, sends under way get this long to finish at shutdown. */
const DELIVERY_STOP_GRACE_MS = 1000;

/**
 * `worker`: one of several processes on the database, whose primary made the first start's data
 * and runs what must run once (main.ts, primary.ts).
 */
/** MAX_CONNECTIONS is the server's: each of its workers takes its share of the connections. */
function connectionLimits(config: Config, worker: boolean): Config["connectionLimits"] {
  const limits = config.connectionLimits;
  return worker ? { ...limits, maxConnections: Math.ceil(limits.maxConnections / config.workers) } : limits;
}

export async function serve(config: Config, logger: Logger, worker: boolean): Promise<void> {
  const store = await openStore(config.databaseUrl, { poolSize: config.databasePoolSize, logger, owner: !worker });
  const onError = backgroundErrorLog(logger, (err) => logInternalError(logger, err));
  const hub = new EventHub(store.log, { pollMs: config.watch.pollMs, batchSize: HUB_BATCH, onError });
  const attemptLimit = new FailureLimiter(config.authFailuresPerMinute);
  // What was committed, here or (told through the bus) on another worker, is read at once.
  const wakeReaders = () => {
    hub.wake();
    delivery.wake();
  };
  // With several workers, what one of them changes in memory reaches the others (cluster-bus.ts).
  const heard = (note: Note) => {
    if (note.note === "committed") wakeReaders();
    else if (note.note === "targetChanged") delivery.targetChanged(note.targetId);
    else if (note.note === "streamsChanged") delivery.streamsChanged();
    else attemptLimit.recordFailure(note.address);
  };
  const bus = worker ? new WorkerBus(heard) : undefined;
  const metrics = createMetrics(bus && (() => bus.scrapeAll()));
  const actions = new ActionsApp(store.actions, config.outbound, undefined, (id) => {
    delivery.targetChanged(id);
    bus?.tell({ note: "targetChanged", targetId: id });
  });
  const signingKeys = new SigningKeys(store.ssf);
  const { longPollMs, ...transmitter } = config.ssf;
  const ssfStreams = new SsfStreams(store.ssf, transmitter, config.outbound, {
    changed: () => {
      delivery.streamsChanged();
      bus?.tell({ note: "streamsChanged" });
    },
  });
  // The bundle's neighbour (scripts/bundle-server.mjs): deliveries are signed and sent there.
  const courier = new ProcessCourier(new URL("./courier.mjs", import.meta.url), config.delivery.nice, onError);
  const delivery = new Delivery(store, actions, ssfStreams, signingKeys, {
    ...config.delivery,
    courier,
    instanceId: config.instanceId,
    outbound: config.outbound,
    onOutcome: (outcome) => metrics.observeDelivery(outcome),
    onError,
  });
  // Before the first commit: every commit writes the deliveries its events are routed to.
  await delivery.start();
  metrics.watchOutbox(() => store.outbox.outboxStats());
  if (store.commitCounts) metrics.watchCommits(store.commitCounts.bind(store));
  const app = new UserApp(store, undefined, {
    committed: () => {
      wakeReaders();
      bus?.tellSoon({ note: "committed" });
    },
    routes: delivery.routes,
  });
  const apps = {
    users: app,
    signIn: new SignInApp(store, app.events),
    settings: new SettingsApp(store),
    watching: new Watching(hub, store, config.watch),
    actions,
    delivery: new DeliveryAdmin(store.outbox, store.actions, store.ssf),
  };
  await firstStart(app, signingKeys, config.adminTokenFile, logger);
  // A lock whose end has come also ends when its user is next loaded; the sweep ends it without
  // that. Every worker of a cluster sweeps: two that end the same lock commit on the same user
  // sequence, so one commit wins and the other, refused, reads the user again and finds it ended. Before the first call is served, every lock that fell due while the server was down ends.
  const sweep = async (): Promise<number> => {
    try {
      return await app.expireLocks();
    } catch (err) {
      onError(err);
      return 0;
    }
  };
  while ((await sweep()) > 0);
  const readiness = new Readiness(store);
  // MEMORY_SHED_PERCENT=0: no check.
  const heap = config.memoryShedPercent > 0 ? new HeapPressure(config.memoryShedPercent) : undefined;
  const shutdown = new AbortController();
  // Every call in flight listens to this signal (and stops listening when it ends).
  setMaxListeners(0, shutdown.signal);
  const handler = createDispatcher({
    apps,
    readiness,
    logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    shutdownSignal: shutdown.signal,
    attemptLimit: {
      retryAfterSeconds: (address) => attemptLimit.retryAfterSeconds(address),
      recordFailure: (address) => {
        attemptLimit.recordFailure(address);
        bus?.tell({ note: "credentialsFailed", address });
      },
    },
    benchNoop: config.benchNoop,
    heap,
    rpcPath: config.rpcPath,
    ssf: { streams: ssfStreams, keys: signingKeys, pollQueue: delivery.pollQueue, longPollMs },
  });
  // The signals' handlers come before the port opens: without one, Node's default action for a
  // SIGTERM ends the process at once, calls in flight with it, and a supervisor (a cluster's
  // primary, a test) may send one as soon as it reads the "listening" line. One that comes
  // before the server is up stops it once it is.
  let stopSignal: string | undefined;
  let onSignal = (signal: string): void => void (stopSignal ??= signal);
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  const server = await listen(handler, { port: config.port, host: config.host, tls: config.tls, limits: connectionLimits(config, worker) });
  // A cluster's primary says "listening" once every worker is (primary.ts).
  logger.info({ host: config.host, port: server.port, tls: Boolean(config.tls), rpcPath: handler.rpcPath }, worker ? "worker listening" : "listening");

  const lockSweep = setInterval(() => void sweep(), LOCK_SWEEP_MS);
  lockSweep.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
    clearInterval(lockSweep);
    readiness.startDraining();
    shutdown.abort();
    hub.close();
    await server.close(config.shutdownGraceMs);
    await delivery.stop(DELIVERY_STOP_GRACE_MS);
    courier.stop();
    await store.close();
    logger.info("stopped");
    process.exit(0);
  };
  onSignal = (signal) => void stop(signal);
  if (stopSignal) onSignal(stopSignal);
}
