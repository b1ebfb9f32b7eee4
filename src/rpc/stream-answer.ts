/**
 * A streamed answer that writes itself (the fast path's server-streaming calls,
 * rpc/fast-path/server-stream.ts). Connect-ES's answers are async iterables of chunks that the
 * edge pulls and writes, one promise and a handful of closures and listeners per chunk, all
 * held by a watcher until its next message (bench/FINDINGS.md, round "2026-12-05, watchers");
 * this one is handed the edge's response as a StreamSink and writes its messages into it.
 */
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";

/** Where a streamed answer goes: the HTTP response (edge/stream-sink.ts), or a wrapper of it. */
export interface StreamSink {
  /** Sends the status and headers; called once, before the first write or the end. */
  head(status: number, header: Headers): void;
  /** Sends bytes; false when they wait in memory: await `drained()` before the next. */
  write(bytes: Uint8Array): boolean;
  /** Resolves once the bytes written have left, or the client has gone. */
  drained(): Promise<void>;
  /** Sends the HTTP trailers, if given, and ends the answer. */
  end(trailer?: Headers): void;
  /** The client has gone: nothing written reaches it any more. */
  readonly closed: boolean;
}

const SEND = Symbol("sends itself");

/** An answer whose body is sent by `send`, never pulled: it has no `body`. */
export interface StreamAnswer extends UniversalServerResponse {
  readonly [SEND]: (sink: StreamSink) => Promise<void>;
}

export function streamAnswer(send: (sink: StreamSink) => Promise<void>): StreamAnswer {
  return { status: 200, [SEND]: send };
}

export const isStreamAnswer = (res: UniversalServerResponse): res is StreamAnswer => SEND in res;

/** Runs the answer into `sink`; resolves when it has ended, never rejects. */
export const sendStream = (answer: StreamAnswer, sink: StreamSink): Promise<void> => answer[SEND](sink);

/** The same answer, written through `wrap(sink)` (gRPC-Web text's base64, edge/grpc-web-text.ts). */
export const wrapStream = (answer: StreamAnswer, wrap: (sink: StreamSink) => StreamSink): StreamAnswer =>
  streamAnswer((sink) => answer[SEND](wrap(sink)));
