/**
 * One TCP port for HTTP/1.1 and cleartext HTTP/2 (h2c). Node's `allowHTTP1` only works
 * with TLS, so each connection's first bytes decide: the HTTP/2 client preface goes to
 * the http2 server, anything else to the http server. Both share one request handler.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface RunningServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(handler: RequestHandler, port: number, host: string): Promise<RunningServer> {
  const http1 = http.createServer(handler);
  const h2 = http2.createServer(handler);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    routeConnection(socket, http1, h2);
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => resolve());
  });

  return {
    port: (tcp.address() as net.AddressInfo).port,
    async close(graceMs = 10_000) {
      const stopped = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) session.close();
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) {
        http1.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}

/** Reads until the bytes either match or rule out the HTTP/2 preface, then hands the socket over. */
function routeConnection(socket: net.Socket, http1: http.Server, h2: http2.Http2Server): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const length = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.subarray(0, length).equals(H2_PREFACE.subarray(0, length));
    if (isH2 && seen.length < H2_PREFACE.length) return;
    socket.off("data", onData);
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
