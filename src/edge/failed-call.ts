/**
 * The last resort when a Connect-ES handler rejects instead of answering (seen: text with a lone
 * UTF-16 surrogate echoed into an error message, which encodeURIComponent refuses): the call
 * still gets an error in its protocol's shape rather than no answer at all.
 */
import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import type { Protocol } from "./call-record.js";

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
    res.writeHead(codeToHttpStatus(code), { "content-type": "application/json" });
    res.end(errorToJsonBytes(new ConnectError(message, code), undefined));
  }
  return code;
}
