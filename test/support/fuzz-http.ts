/**
 * Raw clients that send exactly the bytes they are given: node:http for HTTP/1.1 (one
 * connection per request), node:http2 for h2c, a plain socket for what is not HTTP at all.
 * An HTTP exchange either returns the whole answer, reports that the server refused at the
 * connection level, or throws when nothing came back in time: the server hung.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** Answers take milliseconds; every request that hangs costs this much again while fast-check shrinks. */
const ANSWER_TIMEOUT_MS = 5_000;

/** A server closes a finished raw connection within milliseconds; waiting longer only slows shrinking. */
export const CLOSE_TIMEOUT_MS = 2_000;

export interface HttpRequest {
  version: "1.1" | "2";
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Uint8Array;
}

export interface HttpAnswer {
  status: number;
  /** Lowercase names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
}

/** The connection or stream ended without a complete answer (reset, GOAWAY, RST_STREAM). */
export interface Refusal {
  refused: string;
}

export const isRefusal = (result: HttpAnswer | Refusal): result is Refusal => "refused" in result;

function flatten(headers: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return flat;
}

/** Settles once; a timer turns silence into a "hung" error naming the request. */
function settleOnce<T>(describe: string, cleanup: () => void) {
  let settle!: { resolve(value: T): void; reject(err: Error): void };
  const promise = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms: ${describe}`));
    }, ANSWER_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      cleanup();
    };
    settle = {
      resolve: (value) => (done(), resolve(value)),
      reject: (err) => (done(), reject(err)),
    };
  });
  return { promise, ...settle };
}

export function exchange(port: number, request: HttpRequest): Promise<HttpAnswer | Refusal> {
  return request.version === "2" ? exchangeHttp2(port, request) : exchangeHttp1(port, request);
}

function exchangeHttp1(port: number, request: HttpRequest): Promise<HttpAnswer | Refusal> {
  let req: http.ClientRequest | undefined;
  const { promise, resolve, reject } = settleOnce<HttpAnswer | Refusal>(`HTTP/1.1 ${request.method} ${request.path.slice(0, 200)}`, () => req?.destroy());
  try {
    req = startHttp1(port, request, resolve);
  } catch (err) {
    // node:http refused to send it (a character it does not allow): a fault of the generator, not the server.
    reject(err as Error);
    return promise;
  }
  // An error after the answer began (the server stopped reading an oversized body) is not a refusal.
  req.on("error", (err: NodeJS.ErrnoException) => resolve({ refused: err.code ?? err.message }));
  req.end(request.body);
  return promise;
}

function startHttp1(port: number, request: HttpRequest, resolve: (result: HttpAnswer | Refusal) => void): http.ClientRequest {
  return http.request(
    {
      host: "127.0.0.1",
      port,
      method: request.method,
      path: request.path,
      agent: false,
      // Not the "close" node:http sends without an agent: with it the server closes right after an
      // early answer (an oversized body), and node:http, still writing, fails with EPIPE before reading it.
      headers: { connection: "keep-alive", ...request.headers, "content-length": String(request.body.length) },
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: flatten(res.headers), trailers: flatten(res.trailers), body: Buffer.concat(chunks) }));
      res.on("error", (err: NodeJS.ErrnoException) => resolve({ refused: `answer cut short: ${err.code ?? err.message}` }));
    },
  );
}

function exchangeHttp2(port: number, request: HttpRequest): Promise<HttpAnswer | Refusal> {
  // Our own side must not refuse to send a large header block: the point is what the server does with it.
  const session = http2.connect(`http://127.0.0.1:${port}`, { maxSendHeaderBlockLength: 4 * 1024 * 1024 });
  let stream: http2.ClientHttp2Stream | undefined;
  // Cancel and close, never destroy: destroying a session with a request body still in flight trips
  // an assertion in Node 20's http2 (current_nghttp2_memory_ == 0) that kills this test process.
  const close = () => {
    if (stream && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    session.close();
  };
  const { promise, resolve, reject } = settleOnce<HttpAnswer | Refusal>(`h2c ${request.method} ${request.path.slice(0, 200)}`, close);
  session.on("error", (err: NodeJS.ErrnoException) => resolve({ refused: `session error ${err.code ?? err.message}` }));
  session.on("goaway", (code) => resolve({ refused: `GOAWAY ${code}` }));
  try {
    // endStream: node:http2 ends GET and DELETE requests at once unless told not to; fuzzed ones carry bodies too.
    stream = session.request({ ":method": request.method, ":path": request.path, ...request.headers }, { endStream: false });
  } catch (err) {
    // node:http2 refused to send these headers: a fault of the generator, not the server.
    reject(err as Error);
    return promise;
  }
  const received: { headers?: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; chunks: Buffer[] } = { trailers: {}, chunks: [] };
  stream.on("response", (headers) => (received.headers = headers));
  stream.on("trailers", (trailers) => (received.trailers = trailers));
  stream.on("data", (chunk: Buffer) => received.chunks.push(chunk));
  // Errors end in "close" (with the RST_STREAM code), handled there.
  stream.on("error", () => undefined);
  // The server's side ended: the answer is complete even if it stopped reading ours (an early answer).
  stream.on("end", () => {
    const { ":status": status, ...headers } = received.headers ?? {};
    if (status === undefined) return resolve({ refused: "stream ended without headers" });
    resolve({ status: Number(status), headers: flatten(headers), trailers: flatten(received.trailers), body: Buffer.concat(received.chunks) });
  });
  stream.on("close", () => resolve({ refused: `stream closed with RST_STREAM ${stream.rstCode}` }));
  stream.end(request.body);
  return promise;
}

export interface TcpOutcome {
  received: Buffer;
  /** The server closed (or reset) the connection; false when `enough` stopped waiting first, or time ran out. */
  closed: boolean;
}

/**
 * Writes bytes on a fresh connection, half-closes it and collects what comes back until the
 * server closes, `enough(received)` says the answer is complete, or CLOSE_TIMEOUT_MS passes.
 */
export function exchangeTcp(port: number, bytes: Uint8Array, enough: (received: Buffer) => boolean): Promise<TcpOutcome> {
  const socket = net.connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => finish(false), CLOSE_TIMEOUT_MS);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (enough(Buffer.concat(chunks))) finish(false);
    });
    socket.on("error", () => undefined);
    socket.on("close", () => finish(true));
    socket.end(bytes);
  });
}
