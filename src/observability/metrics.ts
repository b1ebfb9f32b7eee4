/** Prometheus metrics (prom-client): calls by method, protocol and code, latency by method, process metrics. */
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

export interface Metrics {
  registry: Registry;
  observeCall(method: string, protocol: string, code: string, seconds: number): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  return {
    registry,
    observeCall(method, protocol, code, seconds) {
      calls.inc({ method, protocol, code });
      duration.observe({ method }, seconds);
    },
  };
}
