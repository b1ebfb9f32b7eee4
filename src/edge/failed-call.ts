/**
 * The last resort when a Connect-ES handler rejects instead of answering (seen: text with a lone
 * UTF-16 surrogate echoed into an error message, which encodeURIComponent refuses): the call
 * still gets an error in its protocol's shape rather than no answer at all.
 */
import type http from "node:http";
import type http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { connectErrorBody } from "../rpc/connect-error-body.js";
import type { Protocol } from "./call-record.js";
import { httpStatusOf } from "./rest/gateway-errors.js";

export function answerFailedCall(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  protocol: Protocol,
  reason: unknown,
): Code {
  // A URIError here comes from the request's own text; anything else is the server's fault.
  const [code, message] = reason instanceof URIError ? [Code.InvalidArgument, "request text is not valid Unicode"] : [Code.Internal, "internal error"];
  if (res.headersSent) {
    res.destroy();
    return code;
  }
  if (protocol === "grpc" || protocol === "grpc-web") {
    // Trailers-only: the status in the headers of an empty answer.
    res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/grpc", "grpc-status": String(code), "grpc-message": encodeURIComponent(message) });
    res.end();
  } else {
    // Connect maps codes to HTTP statuses as grpc-gateway does.
    res.writeHead(httpStatusOf(code), { "content-type": "application/json" });
    res.end(connectErrorBody(code, message));
  }
  return code;
}
