/**
 * One TCP port for every protocol. Without TLS, Node's `allowHTTP1` does not apply, so each
 * connection's first bytes decide: the HTTP/2 client preface goes to the http2 server
 * (h2c), anything else to the http server. With TLS, ALPN chooses h2 or http/1.1.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { closeWhenIdle, http1Options, http2Settings, limitRequestTime, untilFirstRequest, type ConnectionLimits } from "./connection-limits.js";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface RunningServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes every connection. */
  close(graceMs: number): Promise<void>;
}

export interface ListenOptions {
  port: number;
  host: string;
  tls?: { cert: Buffer; key: Buffer };
  limits: ConnectionLimits;
}

export async function listen(handler: RequestHandler, options: ListenOptions): Promise<RunningServer> {
  let inFlight = 0;
  const { limits } = options;
  const counted: RequestHandler = (req, res) => {
    limitRequestTime(req, limits);
    inFlight++;
    res.once("close", () => inFlight--);
    handler(req, res);
  };
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  /**
   * MAX_CONNECTIONS, counted here rather than by net.Server's maxConnections: in a worker of a
   * cluster (primary.ts) a connection refused that way goes back to the primary, which hands it
   * to the next worker, and round and round while all are full, where it should be closed.
   */
  const track = (socket: net.Socket): boolean => {
    if (limits.maxConnections > 0 && sockets.size >= limits.maxConnections) {
      socket.destroy();
      return false;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    return true;
  };
  const trackSession = (session: http2.Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    closeWhenIdle(session, limits);
  };

  let accepting: net.Server;
  let http1: http.Server | undefined;
  if (options.tls) {
    const secure = http2.createSecureServer(
      { ...options.tls, allowHTTP1: true, noDelay: true, settings: http2Settings(limits), handshakeTimeout: limits.headersTimeoutMs },
      counted,
    );
    secure.on("connection", track);
    secure.on("session", trackSession);
    accepting = secure;
  } else {
    http1 = http.createServer(http1Options(limits), counted);
    // Node starts enforcing headersTimeout and requestTimeout when the server emits 'listening';
    // this one never listens itself (it is handed connections), so it is told it is.
    http1.emit("listening");
    const h2 = http2.createServer({ settings: http2Settings(limits) }, counted);
    h2.on("session", trackSession);
    const plain = { http1, h2 };
    // noDelay as Node's own HTTP server sets it: with Nagle's algorithm a response written in
    // several pieces (headers, body, gRPC trailers) waits for the client's delayed ACK, ~40 ms.
    accepting = net.createServer({ noDelay: true }, (socket) => {
      if (!track(socket)) return;
      routeConnection(socket, plain.http1, plain.h2, untilFirstRequest(socket, limits));
    });
  }

  await new Promise<void>((resolve, reject) => {
    accepting.once("error", reject);
    accepting.listen(options.port, options.host, () => resolve());
  });

  return {
    port: (accepting.address() as net.AddressInfo).port,
    async close(graceMs) {
      const stopped = new Promise<void>((resolve) => accepting.close(() => resolve()));
      for (const session of sessions) session.close();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) {
        http1?.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}

/** Reads until the bytes either match or rule out the HTTP/2 preface, then hands the socket over. */
function routeConnection(socket: net.Socket, http1: http.Server, h2: http2.Http2Server, routed: () => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const length = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.subarray(0, length).equals(H2_PREFACE.subarray(0, length));
    if (isH2 && seen.length < H2_PREFACE.length) return;
    socket.off("data", onData);
    routed();
    socket.pause();
    socket.unshift(seen);
    if (isH2) {
      // The http2 session reads bytes already buffered on the socket by itself.
      h2.emit("connection", socket);
    } else {
      http1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}
