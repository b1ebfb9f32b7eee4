/**
 * A Node.js response (HTTP/1.1 or HTTP/2) as a streamed answer's sink (rpc/stream-answer.ts).
 * The calls on the response are connect-node's universalResponseToNodeResponse's (writeHead,
 * write, addTrailers, end), without its promise, closures and listeners per chunk: a write
 * that the socket takes at once costs nothing more, one that waits is awaited once.
 *
 * On HTTP/1.1 (Connect's streams, one connection a stream) the chunks of the chunked encoding are
 * written here, each as one buffer in one write to the socket, once the head has gone: node:http's
 * `write` corks the socket and sends a chunk's four parts with one `writev` on the next tick
 * (bench/FINDINGS.md, rounds "2026-12-06, watchers pushed" and "2026-12-06, watchers' frames").
 * `end` is node:http's, which writes the last chunk and the trailers after them.
 */
import type { Socket } from "node:net";
import type { StreamSink } from "../rpc/stream-answer.js";
import type { NodeResponse } from "./universal-request.js";

const CRLF = 0x0d0a;

/** One chunk of HTTP/1.1's chunked encoding: its size in hex, CRLF, the bytes, CRLF. */
function chunk(bytes: Uint8Array): Buffer {
  const size = bytes.byteLength.toString(16);
  const buf = Buffer.allocUnsafe(size.length + bytes.byteLength + 4);
  buf.write(size, 0, "latin1");
  buf.writeUInt16BE(CRLF, size.length);
  buf.set(bytes, size.length + 2);
  buf.writeUInt16BE(CRLF, buf.length - 2);
  return buf;
}

class NodeStreamSink implements StreamSink {
  closed = false;
  /** HTTP/1.1 with the chunked encoding, once the head has left: where the chunks go. */
  private socket?: Socket;

  constructor(private readonly res: NodeResponse) {
    // "close" comes once: when the answer has ended, or when the client left before that.
    res.once("close", () => (this.closed = true));
  }

  head(status: number, header: Headers): void {
    if (this.closed) return;
    const { res } = this;
    res.writeHead(status, nodeHeaders(header));
    if ("stream" in res || !res.chunkedEncoding) return;
    // The head leaves now, or, for a response waiting behind another on its connection, when it
    // gets the socket; until then the chunks go through node:http too, behind the head.
    res.flushHeaders();
    if (res.socket) this.socket = res.socket;
  }

  write(bytes: Uint8Array): boolean {
    // A write after the client left would be refused with an error nobody waits for.
    if (this.closed) return true;
    if (this.socket) return this.socket.write(chunk(bytes));
    return (this.res as { write(bytes: Uint8Array): boolean }).write(bytes);
  }

  drained(): Promise<void> {
    const { res } = this;
    if (this.closed) return Promise.resolve();
    // A write refused by the socket is drained by the socket; node:http's by the response.
    const source = this.socket ?? res;
    return new Promise((resolve) => {
      const done = () => {
        source.off("drain", done);
        res.off("close", done);
        resolve();
      };
      source.on("drain", done);
      res.on("close", done);
    });
  }

  end(trailer?: Headers): void {
    if (this.closed) return;
    if (trailer) this.res.addTrailers(nodeHeaders(trailer));
    this.res.end();
  }
}

export const nodeStreamSink = (res: NodeResponse): StreamSink => new NodeStreamSink(res);

function nodeHeaders(header: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  header.forEach((value, key) => (out[key] = value));
  return out;
}
