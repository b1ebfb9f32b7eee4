/**
 * Prometheus metrics (prom-client): calls by method, protocol and code, latency by method,
 * deliveries by outcome and the outbox's depth and oldest waiting age, the writes per
 * transaction of SQLite's group commit, process metrics.
 */
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface Metrics {
  registry: Registry;
  /** What /metrics answers: this process's metrics, or with several workers every worker's, added up. */
  scrape(): Promise<string>;
  observeCall(method: string, protocol: string, code: string, seconds: number): void;
  /** A delivery attempt's outcome: delivered, retry, parked or dropped. */
  observeDelivery(outcome: string): void;
  /** Read at each scrape: the outbox's waiting and parked deliveries and the oldest waiting one's creation. */
  watchOutbox(stats: () => Promise<{ pending: number; parked: number; oldestPendingAt?: Date }>): void;
  /** Read at each scrape: the transactions committed since start and the writes they held (SQLite's group commit). */
  watchCommits(counts: () => { transactions: number; writes: number }): void;
}

/**
 * `everyWorker`: in a worker of a cluster, how /metrics gets every worker's metrics (from the
 * primary, which asks each worker for its registry: clusterMetrics below).
 */
export function createMetrics(everyWorker?: () => Promise<string>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (everyWorker) {
    // Answers the primary's requests for this registry (prom-client listens once one exists).
    AggregatorRegistry.setRegistries([registry]);
    new AggregatorRegistry();
  }
  const calls = new Counter({
    name: "rpc_calls_total",
    help: "Finished calls by RPC method, protocol and status code.",
    labelNames: ["method", "protocol", "code"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "rpc_call_duration_seconds",
    help: "Call latency by RPC method, from the first byte of the request to the last of the answer.",
    labelNames: ["method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "outbox_deliveries_total",
    help: "Delivery attempts by outcome: delivered, retry (failed, to be tried again), parked, dropped (the destination is gone or wants nothing of the event).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  return {
    registry,
    scrape: everyWorker ?? (() => registry.metrics()),
    observeCall(method, protocol, code, seconds) {
      calls.inc({ method, protocol, code });
      duration.observe({ method }, seconds);
    },
    observeDelivery(outcome) {
      deliveries.inc({ outcome });
    },
    watchOutbox(stats) {
      new Gauge({
        name: "outbox_deliveries_waiting",
        help: "Deliveries in the outbox by state: pending (to be sent) or parked (waiting for an administrator).",
        labelNames: ["state"],
        registers: [registry],
        // Every worker reads the same outbox: one worker's reading, not the sum.
        aggregator: "max",
        async collect() {
          const { pending, parked } = await stats();
          this.set({ state: "pending" }, pending);
          this.set({ state: "parked" }, parked);
        },
      });
      new Gauge({
        name: "outbox_oldest_pending_age_seconds",
        help: "Age of the oldest delivery still to be sent; 0 when none waits.",
        registers: [registry],
        aggregator: "max",
        async collect() {
          const { oldestPendingAt } = await stats();
          this.set(oldestPendingAt ? Math.max(0, (Date.now() - oldestPendingAt.getTime()) / 1000) : 0);
        },
      });
    },
    watchCommits(counts) {
      new Gauge({
        name: "store_commits",
        help: "Since start: transactions committed (what) and the writes they held (writes); each write shares its transaction with those that came in the same turn of the event loop.",
        labelNames: ["what"],
        registers: [registry],
        collect() {
          const { transactions, writes } = counts();
          this.set({ what: "transactions" }, transactions);
          this.set({ what: "writes" }, writes);
        },
      });
    },
  };
}

/** In a cluster's primary: every worker's metrics, added up (prom-client's aggregation). */
export function clusterMetrics(): () => Promise<string> {
  const aggregator = new AggregatorRegistry();
  return () => aggregator.clusterMetrics();
}
