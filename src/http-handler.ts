/**
 * The single request handler behind every protocol on the port: routes a request to its
 * Connect-ES handler, which serves Connect, gRPC and gRPC-Web; adds gRPC-Web text mode.
 */
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler, UniversalHandlerFn } from "@connectrpc/connect/protocol";
import type { UserApp } from "./app.js";
import type { Config } from "./config.js";
import { logInternalError } from "./log.js";
import type { RequestHandler } from "./server.js";
import { invalidArgumentOnParseFailure } from "./transport/binary-parse-errors.js";
import { isGrpcWebText, serveGrpcWebText } from "./transport/grpc-web-text.js";
import { routes } from "./transport/routes.js";

export function createHandler(app: UserApp, config: Pick<Config, "maxBodyBytes">): RequestHandler {
  const router = createConnectRouter({
    readMaxBytes: config.maxBodyBytes,
    // Unknown JSON keys are refused, as unknown binary fields are (SPEC §5).
    jsonOptions: { ignoreUnknownFields: false },
  });
  routes(app, logInternalError)(router);
  const byPath = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));

  return (req, res) => {
    const handler = byPath.get(req.url?.split("?", 1)[0] ?? "");
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, undefined);
    const serve: UniversalHandlerFn = async (request) =>
      invalidArgumentOnParseFailure(await handler(request), handler.method.input.name);
    const answer = isGrpcWebText(uReq.header.get("content-type")) ? serveGrpcWebText(serve, uReq) : serve(uReq);
    answer
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        // Aborted: the client went away mid-response; nothing left to answer.
        if (ConnectError.from(reason).code !== Code.Aborted) logInternalError(reason);
      });
  };
}
