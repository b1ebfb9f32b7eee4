/**
 * Slow and greedy clients (issue 7): how long a client may take to send its headers and its
 * request, how long a connection may sit idle, how many connections and HTTP/2 streams at once.
 */
import type http from "node:http";
import http2 from "node:http2";
import type net from "node:net";

export interface ConnectionLimits {
  /** From the first byte to the end of the request headers (HTTP/1.1), or to the HTTP/2 preface. */
  headersTimeoutMs: number;
  /** From the first byte to the end of the request body. */
  requestTimeoutMs: number;
  /** A connection with nothing in flight is closed after this long. */
  idleTimeoutMs: number;
  maxConnections: number;
  /** Per HTTP/2 connection; more streams are refused by the protocol's own flow control. */
  maxConcurrentStreams: number;
}

export function http1Options(limits: ConnectionLimits): http.ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks the two timeouts above on this interval (30 s by default).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 2)),
  };
}

export const http2Settings = (limits: ConnectionLimits): http2.Settings => ({ maxConcurrentStreams: limits.maxConcurrentStreams });

/** A socket whose first bytes take too long (the HTTP/2 preface or an HTTP/1.1 request line) is dropped. */
export function untilFirstRequest(socket: net.Socket, limits: ConnectionLimits): () => void {
  socket.setTimeout(limits.headersTimeoutMs, () => socket.destroy());
  return () => socket.setTimeout(0);
}

/** Closes an HTTP/2 connection that has been quiet for the idle timeout with no stream open. */
export function closeWhenIdle(session: http2.Http2Session, limits: ConnectionLimits): void {
  let open = 0;
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    stream.once("close", () => open--);
  });
  session.setTimeout(limits.idleTimeoutMs, () => {
    if (open === 0) session.close();
  });
}

/** An HTTP/2 request whose body has not arrived within the request timeout is cancelled. */
export function limitRequestTime(req: http.IncomingMessage | http2.Http2ServerRequest, limits: ConnectionLimits): void {
  if (!("stream" in req) || limits.requestTimeoutMs === 0) return;
  const timer = setTimeout(() => req.stream.close(http2.constants.NGHTTP2_CANCEL), limits.requestTimeoutMs);
  const done = () => clearTimeout(timer);
  req.once("end", done);
  req.once("close", done);
}
