/**
 * The single request handler behind every protocol on the port. In order: request id,
 * CORS, probes (/healthz, /readyz, /metrics), the admin console (/console/), the attempt
 * limit's verdict for the client address, the router's handlers (Connect, gRPC, gRPC-Web,
 * plus gRPC-Web text; see transport/router.ts), REST transcoding, else 404. Each call is
 * logged and counted once its answer is sent.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { DescMethod } from "@bufbuild/protobuf";
import { finishCall, protocolOf, type CallRecord } from "./call-record.js";
import { logInternalError, type Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { Readiness } from "../readiness.js";
import type { FailureLimiter } from "../security/failure-limiter.js";
import type { RequestHandler } from "./server.js";
import { isGrpcWebText, serveGrpcWebText } from "./grpc-web-text.js";
import { CALLING_CLIENT } from "../rpc/call-report.js";
import { inspectOutcome } from "../rpc/connect-es-answers.js";
import { BenchService } from "../../gen/zus/bench/v1/bench_pb.js";
import { createRouter } from "../rpc/fast-path/router.js";
import { API_SERVICES, routes, type Apps } from "../rpc/routes.js";
import { serveConsole } from "./console.js";
import { applyCors } from "./cors.js";
import { answerFailedCall } from "./failed-call.js";
import { serveProbe } from "./probes.js";
import { plainGatewayError } from "./rest/gateway-errors.js";
import { restRoutes } from "./rest/http-rules.js";
import { createRestHandler, writeError } from "./rest/rest-handler.js";
import { universalRequest, type CallHandler } from "./universal-request.js";

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
  attemptLimit: FailureLimiter;
  /** Serves zus.bench.v1.BenchService/Noop (and POST /bench/noop) for the benchmark's ceiling. */
  benchNoop?: boolean;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createDispatcher(options: DispatchOptions): RequestHandler {
  const { logger, metrics } = options;
  const onInternal = (err: unknown) => logInternalError(logger, err);
  const router = createRouter({
    readMaxBytes: options.maxBodyBytes,
    // Unknown JSON keys are refused, as unknown binary fields are (SPEC §5).
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: options.shutdownSignal,
  });
  routes(options.apps, options.readiness, onInternal, { benchNoop: options.benchNoop })(router);
  const byPath = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));
  const byMethod = new Map<DescMethod, UniversalHandler>(router.handlers.map((h) => [h.method, h]));

  /** Calls a handler with the calling client in its context and reads how the call ended into the record. */
  const observed =
    (handler: UniversalHandler, call: CallRecord): CallHandler =>
    async (request) => {
      request.contextValues = createContextValues().set(CALLING_CLIENT, call.client);
      return inspectOutcome(await handler(request), {
        inputName: handler.method.input.name,
        unary: handler.method.methodKind === "unary",
        onCode: (code) => (call.code = code),
      });
    };

  const rest = createRestHandler({
    routes: restRoutes(options.benchNoop ? [...API_SERVICES, BenchService] : API_SERVICES),
    maxBodyBytes: options.maxBodyBytes,
    handlerFor: (method, call) => observed(byMethod.get(method)!, call),
  });

  return (req, res) => {
    const started = process.hrtime.bigint();
    const given = req.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("x-request-id", requestId);
    // Answers are per caller and not documents: never cached, never content-sniffed.
    res.setHeader("cache-control", "no-store");
    res.setHeader("x-content-type-options", "nosniff");
    if (applyCors(req, res, options.corsOrigins) === "answered") return;

    const path = req.url?.split("?", 1)[0] ?? "";
    if (serveProbe(req, res, path, options.readiness, metrics)) return;
    if (serveConsole(req, res, path)) return;

    const address = req.socket.remoteAddress ?? "";
    const client = { address, retryAfterS: options.attemptLimit.retryAfterSeconds(address), credentialsFailed: false };
    if (client.retryAfterS > 0) res.setHeader("retry-after", String(client.retryAfterS));
    const call: CallRecord = { requestId, protocol: protocolOf(req.headers["content-type"] ?? null), client };
    res.once("close", () => {
      if (client.credentialsFailed) options.attemptLimit.recordFailure(address);
      finishCall(call, Number(process.hrtime.bigint() - started) / 1e9, logger, metrics);
    });

    const handler = byPath.get(path);
    if (!handler) {
      call.protocol = "rest";
      if (!rest(req, res, path, call)) writeError(res, plainGatewayError(Code.NotFound, "Not Found"));
      return;
    }
    call.method = `${handler.service.typeName}/${handler.method.name}`;
    const uReq = universalRequest(req, res);
    const serve = observed(handler, call);
    (isGrpcWebText(uReq.header.get("content-type")) ? serveGrpcWebText(serve, uReq) : serve(uReq))
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        // Aborted: the client went away mid-response; nothing left to answer.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        call.code = answerFailedCall(req, res, call.protocol, reason);
        if (call.code === Code.Internal) onInternal(reason);
      });
  };
}
