/**
 * The single request handler behind every protocol on the port. In order: request id,
 * CORS, `/` (to the console), probes (/healthz, /readyz, /metrics), the admin console
 * (/console/), the REST paths' OpenAPI document (/openapi.json), the attempt limit's verdict
 * for the client address, the Shared Signals transmitter's endpoints
 * (/.well-known/ssf-configuration, /ssf/...), the RPC handlers (Connect, gRPC, gRPC-Web, plus
 * gRPC-Web text; fast or stock, see rpc/rpc-handlers.ts), REST transcoding, else 404. Each call
 * is logged and counted once its answer is sent, with the status the call reported into its
 * CallReport.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { BenchService } from "../../gen/zus/bench/v1/bench_pb.js";
import { logInternalError, type Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { Readiness } from "../app/readiness.js";
import { CALL_REPORT, type CallReport } from "../rpc/call-report.js";
import type { HeapAdmission } from "../rpc/interceptors.js";
import { API_SERVICES, routes, type Apps } from "../rpc/routes.js";
import { createRpcHandlers, type RpcPath } from "../rpc/rpc-handlers.js";
import { isStreamAnswer, sendStream } from "../rpc/stream-answer.js";
import type { FailureLimiter } from "../security/failure-limiter.js";
import { finishCall, protocolOf, type CallRecord } from "./call-record.js";
import { serveConsole } from "./console.js";
import { applyCors } from "./cors.js";
import { answerFailedCall } from "./failed-call.js";
import { isGrpcWebText, serveGrpcWebText } from "./grpc-web-text.js";
import { serveProbe } from "./probes.js";
import { nodeStreamSink } from "./stream-sink.js";
import { createSsfHandler, type SsfHttpOptions } from "./ssf/ssf-http.js";
import { plainGatewayError } from "./rest/gateway-errors.js";
import { restRoutes } from "./rest/http-rules.js";
import { OPENAPI_PATH, openApiText } from "./rest/openapi-document.js";
import { createRestHandler, writeError } from "./rest/rest-handler.js";
import type { RequestHandler } from "./server.js";
import { universalRequest } from "./universal-request.js";

export interface DispatchOptions {
  apps: Apps;
  readiness: Readiness;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  corsOrigins: ReadonlySet<string>;
  /** Aborted when shutdown begins: ends long-running streams such as Health.Watch. */
  shutdownSignal: AbortSignal;
  /** Failed credentials per client address (AUTH_FAILURES_PER_MINUTE). */
  attemptLimit: Pick<FailureLimiter, "retryAfterSeconds" | "recordFailure">;
  /** Serves zus.bench.v1.BenchService/Noop (and POST /bench/noop) for the benchmark's ceiling. */
  benchNoop?: boolean;
  /** How calls are served (rpc/rpc-handlers.ts); the fast path unless given. */
  rpcPath?: RpcPath;
  /** Near the heap's limit calls are refused, and pages of users beyond a budget (rpc/interceptors.ts, heapAdmissionInterceptor). */
  heap?: HeapAdmission;
  /** The OpenID Shared Signals transmitter (edge/ssf/ssf-http.ts). */
  ssf: Pick<SsfHttpOptions, "streams" | "keys" | "pollQueue" | "longPollMs">;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The handler, and which RPC path (rpc/rpc-handlers.ts) it serves calls on. */
export function createDispatcher(options: DispatchOptions): RequestHandler & { rpcPath: RpcPath } {
  const { logger, metrics } = options;
  const onInternal = (err: unknown) => logInternalError(logger, err);
  // Unknown JSON keys are refused, as unknown binary fields are (SPEC §5).
  const jsonOptions = { ignoreUnknownFields: false };
  const rpc = createRpcHandlers(options.rpcPath ?? "fast", {
    readMaxBytes: options.maxBodyBytes,
    jsonOptions,
    shutdownSignal: options.shutdownSignal,
  });
  routes(options.apps, options.readiness, onInternal, { benchNoop: options.benchNoop, heap: options.heap })(rpc.router);
  const byPath = new Map<string, UniversalHandler>(rpc.handlers().map((h) => [h.requestPath, h]));
  const restRoutesServed = restRoutes(options.benchNoop ? [...API_SERVICES, BenchService] : API_SERVICES);
  // Made once: the document of exactly the routes this handler serves.
  const openApi = openApiText(restRoutesServed);
  const rest = createRestHandler({
    routes: restRoutesServed,
    maxBodyBytes: options.maxBodyBytes,
    jsonOptions,
    unary: rpc.unary,
  });
  const serveSsf = createSsfHandler({
    ...options.ssf,
    authenticate: (authorization) => options.apps.users.authenticate(authorization),
    maxBodyBytes: options.maxBodyBytes,
    shutdownSignal: options.shutdownSignal,
    onInternal,
  });

  const dispatch: RequestHandler = (req, res) => {
    const started = process.hrtime.bigint();
    const given = req.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("x-request-id", requestId);
    // Answers are per caller and not documents: never cached, never content-sniffed.
    res.setHeader("cache-control", "no-store");
    res.setHeader("x-content-type-options", "nosniff");
    if (applyCors(req, res, options.corsOrigins) === "answered") return;

    const path = req.url?.split("?", 1)[0] ?? "";
    if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(302, { location: "/console/" });
      res.end();
      return;
    }
    if (serveProbe(req, res, path, options.readiness, metrics)) return;
    if (serveConsole(req, res, path)) return;
    if (path === OPENAPI_PATH && req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" }).end(openApi);
      return;
    }

    const address = req.socket.remoteAddress ?? "";
    const report: CallReport = { address, retryAfterS: options.attemptLimit.retryAfterSeconds(address), credentialsFailed: false };
    if (report.retryAfterS > 0) res.setHeader("retry-after", String(report.retryAfterS));
    const call: CallRecord = { requestId, protocol: protocolOf(req.headers["content-type"] ?? null), report };
    res.once("close", () => {
      if (report.credentialsFailed) options.attemptLimit.recordFailure(address);
      finishCall(call, Number(process.hrtime.bigint() - started) / 1e9, logger, metrics);
    });

    if (serveSsf(req, res, path, call)) return;
    const handler = byPath.get(path);
    if (!handler) {
      call.protocol = "rest";
      if (!rest(req, res, path, call)) writeError(res, plainGatewayError(Code.NotFound, "Not Found"));
      return;
    }
    call.method = `${handler.service.typeName}/${handler.method.name}`;
    const uReq = universalRequest(req, res);
    uReq.contextValues = createContextValues().set(CALL_REPORT, report);
    (isGrpcWebText(uReq.header.get("content-type")) ? serveGrpcWebText(handler, uReq) : handler(uReq))
      .then((uRes) => (isStreamAnswer(uRes) ? sendStream(uRes, nodeStreamSink(res)) : universalResponseToNodeResponse(uRes, res)))
      .catch((reason: unknown) => {
        // Aborted: the client went away mid-response; nothing left to answer.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        report.code = answerFailedCall(req, res, call.protocol, reason);
        if (report.code === Code.Internal) onInternal(reason);
      });
  };
  return Object.assign(dispatch, { rpcPath: rpc.path });
}
