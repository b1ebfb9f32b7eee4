/**
 * A Node.js request as Connect-ES's universal request. Our own rather than connect-node's
 * `universalRequestFromNodeRequest`, which costs every call three things it does not need:
 * - its body is an async generator created by a function created per call, which keeps the
 *   request alive through young-generation collections (bench/FINDINGS.md, "Generator functions
 *   per call"). Here the body is the request itself: a Node.js readable stream is an async iterable.
 * - it aborts the call's signal whenever the response closes, finished or not, and an abort
 *   without a reason builds a DOMException, with its stack, for nobody. Here only a client that
 *   leaves before its answer is complete cancels the call.
 * - it makes the signal for every call. Here it is made the first time something reads it,
 *   which no unary call on the fast path does (rpc/fast-path/unary-context.ts): an AbortSignal
 *   made per call is the garbage behind the latency tail (bench/FINDINGS.md, "Per-call abort signals").
 */
import type http from "node:http";
import type http2 from "node:http2";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import type { UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The abort reason of a call whose client left: one instance, so aborting builds nothing. */
const CLIENT_LEFT = new ConnectError("the client closed the connection before the answer was complete", Code.Canceled);

/** What a call is, apart from the response it answers on. */
export interface RequestFields {
  httpVersion: string;
  method: string;
  url: string;
  header: Headers;
  body: AsyncIterable<Uint8Array>;
}

/**
 * A call's request whose signal is aborted when the client leaves before `res` is complete.
 * The signal is a getter on the prototype: a copy made by spreading has none, so whoever
 * passes the request on changes this object rather than copying it.
 */
export class CallRequest implements UniversalServerRequest {
  httpVersion: string;
  method: string;
  url: string;
  header: Headers;
  body: AsyncIterable<Uint8Array>;
  contextValues?: ContextValues;
  private left = false;
  private controller: AbortController | undefined;

  constructor(fields: RequestFields, res: NodeResponse) {
    this.httpVersion = fields.httpVersion;
    this.method = fields.method;
    this.url = fields.url;
    this.header = fields.header;
    this.body = fields.body;
    // A request made after its client left (REST reads the body first) is cancelled from the start.
    if (connectionClosed(res)) this.left = !answered(res);
    else
      res.once("close", () => {
        if (answered(res)) return;
        this.left = true;
        this.controller?.abort(CLIENT_LEFT);
      });
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.left) this.controller.abort(CLIENT_LEFT);
    }
    return this.controller.signal;
  }
}

/**
 * Whether `res` was sent whole. HTTP/2's compatibility response reports itself finished as soon
 * as its stream closes, sent or not, so that it was ended is checked too.
 */
const answered = (res: NodeResponse) => res.writableEnded && res.writableFinished;

/** Whether the stream or connection `res` answers on has closed already. */
const connectionClosed = (res: NodeResponse) => ("stream" in res ? res.stream.destroyed : res.closed);

/** A handler of calls made of CallRequests. */
export type CallHandler = (request: CallRequest) => Promise<UniversalServerResponse>;

export function universalRequest(req: NodeRequest, res: NodeResponse): CallRequest {
  const authority = "authority" in req ? req.authority : req.headers.host;
  const scheme = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  const fields = {
    httpVersion: req.httpVersion,
    method: req.method ?? "",
    url: `${scheme}://${authority ?? "localhost"}${req.url ?? "/"}`,
    header: webHeaders(req.headers),
    body: req,
  };
  return new CallRequest(fields, res);
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
