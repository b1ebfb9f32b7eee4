/** What is known about one call while it runs; logged and counted once its answer is sent. */
import { Code } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { codeName, type CallReport } from "../rpc/call-report.js";

export type Protocol = "grpc" | "grpc-web" | "connect" | "rest";

export interface CallRecord {
  requestId: string;
  protocol: Protocol;
  /** "package.Service/Method" once the path is matched. */
  method?: string;
  /** Handed to the call in its context; it reports how the call ended (rpc/call-report.ts). */
  report: CallReport;
}

export function protocolOf(contentType: string | null): Protocol {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

export function finishCall(call: CallRecord, seconds: number, logger: Logger, metrics: Metrics): void {
  if (!call.method) return;
  const code = codeName(call.report.code ?? Code.Unknown);
  metrics.observeCall(call.method, call.protocol, code, seconds);
  logger.info(
    { requestId: call.requestId, method: call.method, protocol: call.protocol, code, durationMs: Math.round(seconds * 1e4) / 10 },
    "call",
  );
}
