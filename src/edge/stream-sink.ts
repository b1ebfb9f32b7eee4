/**
 * A Node.js response (HTTP/1.1 or HTTP/2) as a streamed answer's sink (rpc/stream-answer.ts).
 * The calls on the response are connect-node's universalResponseToNodeResponse's (writeHead,
 * write, addTrailers, end), without its promise, closures and listeners per chunk: a write
 * that the socket takes at once costs nothing more, one that waits is awaited once.
 */
import type { StreamSink } from "../rpc/stream-answer.js";
import type { NodeResponse } from "./universal-request.js";

class NodeStreamSink implements StreamSink {
  closed = false;

  constructor(private readonly res: NodeResponse) {
    // "close" comes once: when the answer has ended, or when the client left before that.
    res.once("close", () => (this.closed = true));
  }

  head(status: number, header: Headers): void {
    if (this.closed) return;
    this.res.writeHead(status, nodeHeaders(header));
  }

  write(bytes: Uint8Array): boolean {
    // A write after the client left would be refused with an error nobody waits for.
    return this.closed || (this.res as { write(bytes: Uint8Array): boolean }).write(bytes);
  }

  drained(): Promise<void> {
    const { res } = this;
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
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
