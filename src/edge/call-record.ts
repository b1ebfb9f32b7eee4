/** What is known about one call while it runs; logged and counted once its answer is sent. */
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { StatusCode } from "../rpc/connect-es-answers.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";

export type Protocol = "grpc" | "grpc-web" | "connect" | "rest";

export interface CallRecord {
  requestId: string;
  protocol: Protocol;
  /** "package.Service/Method" once the path is matched. */
  method?: string;
  code?: StatusCode;
  client: CallingClient;
}

/** The calling client as the attempt limit sees it (src/security/failure-limiter.ts). */
export interface CallingClient {
  address: string;
  /** Seconds until this address may call again after too many failed credentials; 0: it may. */
  retryAfterS: number;
  /** Set when the call failed on its credentials: an invalid token, a wrong password. */
  credentialsFailed: boolean;
}

export function protocolOf(contentType: string | null): Protocol {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

const codeName = (code: StatusCode) => (code === 0 ? "ok" : codeToString(code));

export function finishCall(call: CallRecord, seconds: number, logger: Logger, metrics: Metrics): void {
  if (!call.method) return;
  const code = codeName(call.code ?? Code.Unknown);
  metrics.observeCall(call.method, call.protocol, code, seconds);
  logger.info(
    { requestId: call.requestId, method: call.method, protocol: call.protocol, code, durationMs: Math.round(seconds * 1e4) / 10 },
    "call",
  );
}
