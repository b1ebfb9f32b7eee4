/**
 * A Node.js request as Connect-ES's universal request. Our own rather than connect-node's
 * `universalRequestFromNodeRequest`, which costs every call two things it does not need:
 * - its body is an async generator created by a function created per call; V8 gives each such
 *   function a hidden class of its own in the old generation, which keeps the function's scope
 *   (the request it reads) alive through young-generation collections until a full one. Here
 *   the body is the request itself: a Node.js readable stream is an async iterable.
 * - it aborts the call's signal whenever the response closes, finished or not, and an abort
 *   without a reason builds a DOMException, with its stack, for nobody. Here only a client that
 *   leaves before its answer is complete cancels the call.
 */
import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The abort reason of a call whose client left: one instance, so aborting builds nothing. */
const CLIENT_LEFT = new ConnectError("the client closed the connection before the answer was complete", Code.Canceled);

export function universalRequest(req: NodeRequest, res: NodeResponse): UniversalServerRequest {
  const authority = "authority" in req ? req.authority : req.headers.host;
  const scheme = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  return {
    httpVersion: req.httpVersion,
    method: req.method ?? "",
    url: `${scheme}://${authority ?? "localhost"}${req.url ?? "/"}`,
    header: webHeaders(req.headers),
    body: req,
    signal: clientLeft(res),
  };
}

/** Aborted when the client leaves before `res` is complete. */
export function clientLeft(res: NodeResponse): AbortSignal {
  const left = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) left.abort(CLIENT_LEFT);
  });
  return left.signal;
}

/** Node.js request headers as web Headers, without HTTP/2 pseudo-headers and `skip`. */
export function webHeaders(headers: http.IncomingHttpHeaders, skip?: ReadonlySet<string>): Headers {
  const web = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(":") || skip?.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) web.append(name, v);
    else web.append(name, value);
  }
  return web;
}
