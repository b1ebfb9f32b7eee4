/**
 * Server-streaming calls over gRPC, gRPC-Web and Connect (WatchUserEvents, Health.Watch) without
 * Connect-ES's stream pipeline: its seven async generators per stream, compiled to TypeScript's
 * helper, and the promise and closures connect-node's writer makes per chunk, were ~125 µs of
 * server CPU per delivered event, a quarter of it garbage collection, and each watcher held
 * their pending state until its next message (bench/FINDINGS.md, round "2026-12-05, watchers").
 *
 * Here each framed message is written to the response (rpc/stream-answer.ts) as the
 * implementation's stream (through the interceptors, stream-invoker.ts) hands it over: a push
 * stream (rpc/push-stream.ts, WatchUserEvents) in the turn it makes it, and held back by it
 * until 'drain' when the socket refuses one; any other (Health.Watch), or a compressed one, is
 * pulled by one loop that awaits 'drain' before the next. The rest is Connect-ES's own, as the unary fast path keeps
 * it: content types, compression, the timeout header, size limits, serialization, the status
 * trailers, gRPC-Web's trailer frame and Connect's end-stream message. The headers go out with
 * the first message, or with the end, so the implementation may still set them until then.
 */
import { create, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type MethodImplSpec } from "@connectrpc/connect";
// Connect-ES's internals, as in grpc-unary.ts and connect-unary.ts:
import {
  assertByteStreamRequest,
  compressionNegotiate,
  createMethodSerializationLookup,
  encodeEnvelope,
  envelopeCompress,
  validateUniversalHandlerOptions,
  type Compression,
  type EnvelopedMessage,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  contentTypeStreamJson,
  contentTypeStreamProto,
  createEndStreamSerialization,
  endStreamFlag,
  headerStreamAcceptEncoding,
  headerStreamEncoding,
  headerTimeout as connectHeaderTimeout,
  parseContentType as parseConnectContentType,
  parseTimeout as parseConnectTimeout,
} from "@connectrpc/connect/protocol-connect";
import {
  contentTypeJson as grpcJson,
  contentTypeProto as grpcProto,
  grpcStatusOk,
  headerAcceptEncoding,
  headerEncoding,
  headerGrpcStatus,
  headerTimeout as grpcHeaderTimeout,
  parseContentType as parseGrpcContentType,
  parseTimeout as parseGrpcTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import {
  contentTypeJson as grpcWebJson,
  contentTypeProto as grpcWebProto,
  parseContentType as parseGrpcWebContentType,
  trailerFlag,
  trailerSerialize,
} from "@connectrpc/connect/protocol-grpc-web";
import { reportCode } from "../call-report.js";
import { isPushStream, isSelfFramed, startPush, type PushControl, type PushStream } from "../push-stream.js";
import { streamAnswer, type StreamSink } from "../stream-answer.js";
import { inputParser, readSingleMessage } from "./parse.js";
import { serverStreamInvoker } from "./stream-invoker.js";
import { CALL_FINISHED, createUnaryContext, replaceHeaders } from "./unary-context.js";

type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;
type StreamSpec = Extract<MethodImplSpec, { kind: "server_streaming" }>;

/** A frame's header: flags and the message's length. */
const ENVELOPE_BYTES = 5;

/** How a stream ends: a last frame in the body, HTTP trailers, or both. */
interface StreamEnd {
  frame?: EnvelopedMessage;
  trailer?: Headers;
}

/** What sets the three protocols' server streams apart. */
export interface StreamProtocol {
  /** undefined for a content type this protocol's streams are not served with. */
  parseContentType(contentType: string | null): { binary: boolean } | undefined;
  contentType(binary: boolean): string;
  parseTimeout(value: string | null, maxTimeoutMs: number): { timeoutMs?: number; error?: ConnectError };
  headerTimeout: string;
  headerEncoding: string;
  headerAcceptEncoding: string;
  /** Request envelopes carrying this flag are passed over, as Connect-ES does; 0 for none. */
  skippedFlag: number;
  /** The trailers a stream starts with. */
  trailer: Record<string, string>;
  end(trailer: Headers, error: ConnectError | undefined, opt: HandlerOptions): StreamEnd;
}

/** gRPC: the status in HTTP/2 trailers. */
export const GRPC_STREAM: StreamProtocol = {
  parseContentType: parseGrpcContentType,
  contentType: (binary) => (binary ? grpcProto : grpcJson),
  parseTimeout: parseGrpcTimeout,
  headerTimeout: grpcHeaderTimeout,
  headerEncoding,
  headerAcceptEncoding,
  skippedFlag: 0,
  trailer: { [headerGrpcStatus]: grpcStatusOk },
  end(trailer, error) {
    if (error) setTrailerStatus(trailer, error);
    return { trailer };
  },
};

/** gRPC-Web: the same status as a last frame flagged 0x80 (text mode is decoded before it, edge/grpc-web-text.ts). */
export const GRPC_WEB_STREAM: StreamProtocol = {
  ...GRPC_STREAM,
  parseContentType(contentType) {
    const type = parseGrpcWebContentType(contentType);
    return type?.text ? undefined : type;
  },
  contentType: (binary) => (binary ? grpcWebProto : grpcWebJson),
  skippedFlag: trailerFlag,
  end(trailer, error) {
    if (error) setTrailerStatus(trailer, error);
    return { frame: { flags: trailerFlag, data: trailerSerialize(trailer) } };
  },
};

/** Connect: a last frame flagged 0x02 with the error and the trailers as JSON. */
export const CONNECT_STREAM: StreamProtocol = {
  parseContentType(contentType) {
    const type = parseConnectContentType(contentType);
    return type?.stream ? type : undefined;
  },
  contentType: (binary) => (binary ? contentTypeStreamProto : contentTypeStreamJson),
  parseTimeout: parseConnectTimeout,
  headerTimeout: connectHeaderTimeout,
  headerEncoding: headerStreamEncoding,
  headerAcceptEncoding: headerStreamAcceptEncoding,
  skippedFlag: endStreamFlag,
  trailer: {},
  end(metadata, error, opt) {
    return { frame: { flags: endStreamFlag, data: endStreamSerialization(opt).serialize({ metadata, error }) } };
  },
};

const endStreamSerializations = new WeakMap<HandlerOptions, ReturnType<typeof createEndStreamSerialization>>();
function endStreamSerialization(opt: HandlerOptions) {
  let made = endStreamSerializations.get(opt);
  if (!made) endStreamSerializations.set(opt, (made = createEndStreamSerialization(opt.jsonOptions)));
  return made;
}

export function serverStreamHandler(protocol: StreamProtocol, opt: HandlerOptions, protocolName: string, spec: StreamSpec) {
  const serialization = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
  const parse = inputParser(spec.method.input, opt.binaryOptions, serialization.getI(false));
  const invoke = serverStreamInvoker(spec, opt.interceptors);
  const { output } = spec.method;

  return async function handle(req: UniversalServerRequest): Promise<UniversalServerResponse> {
    assertByteStreamRequest(req);
    const type = protocol.parseContentType(req.header.get("content-type"));
    if (type === undefined) return { status: 415 };
    if (req.method !== "POST") return { status: 405 };
    const timeout = protocol.parseTimeout(req.header.get(protocol.headerTimeout), opt.maxTimeoutMs);
    const compression = compressionNegotiate(
      opt.acceptCompression,
      req.header.get(protocol.headerEncoding),
      req.header.get(protocol.headerAcceptEncoding),
      protocol.headerAcceptEncoding,
    );
    const serializer = serialization.getO(type.binary);
    const compress = compression.response;
    // No promise per message unless it may be compressed.
    const frame = (envelope: EnvelopedMessage) =>
      compress ? compressed(envelope, compress, opt.compressMinBytes) : encodeEnvelope(envelope.flags, envelope.data);
    const messageFrame = (message: unknown) =>
      frame({ flags: 0, data: serializer.serialize(isMessage(message, output) ? message : create(output, message as never)) });
    const framed = (message: unknown) => {
      if (!isSelfFramed(message)) return messageFrame(message);
      const bytes = message.frame(type.binary);
      if (!bytes) return messageFrame(message.message());
      // The serializer's own limit, which Connect-ES does not export on its own.
      const size = bytes.byteLength - ENVELOPE_BYTES;
      if (size > opt.writeMaxBytes) throw new ConnectError(`message size ${size} is larger than configured writeMaxBytes ${opt.writeMaxBytes}`, Code.ResourceExhausted);
      return bytes;
    };

    return streamAnswer(async (sink: StreamSink) => {
      const context = createUnaryContext({
        spec,
        protocolName,
        request: req,
        timeoutMs: timeout.timeoutMs,
        shutdownSignal: opt.shutdownSignal,
        responseHeader: { "content-type": protocol.contentType(type.binary) },
        responseTrailer: protocol.trailer,
      });
      if (compression.response) context.responseHeader.set(protocol.headerEncoding, compression.response.name);
      // Cancelled until it ends otherwise: the call is logged when the client leaves, before this loop hears of it.
      reportCode(req, Code.Canceled);
      let headSent = false;
      const head = () => {
        if (headSent) return;
        headSent = true;
        sink.head(200, context.responseHeader);
      };
      // Read when the implementation's turn comes; the header errors first, as Connect-ES raises them.
      const input = oneMessage(() => {
        if (compression.error) throw compression.error;
        if (timeout.error) throw timeout.error;
        const limits = { input: spec.method.input, skippedFlag: protocol.skippedFlag, readMaxBytes: opt.readMaxBytes, compression: compression.request };
        return readSingleMessage(req.body, limits, (data) => parse(type.binary, data), "server-streaming");
      });
      let error: ConnectError | undefined;
      try {
        const res = await invoke(context, input);
        if (isPushStream(res.message) && !compress) {
          await pushInto(res.message, sink, (message) => {
            const bytes = framed(message) as Uint8Array;
            head();
            return bytes;
          });
        } else {
          for await (const message of res.message) {
            // Gone: leaving the loop ends the implementation's iteration (its finally blocks run).
            if (sink.closed) break;
            const bytes = framed(message);
            head();
            if (!sink.write(bytes instanceof Uint8Array ? bytes : await bytes)) await sink.drained();
          }
        }
        replaceHeaders(context.responseTrailer, res.trailer);
      } catch (err) {
        error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      }
      context.finish(error ?? CALL_FINISHED);
      // The client left before the end: nothing more to send.
      if (sink.closed) return;
      reportCode(req, error?.code ?? 0);
      const end = protocol.end(context.responseTrailer, error, opt);
      head();
      if (end.frame) sink.write(await frame(end.frame));
      sink.end(end.trailer);
    });
  };
}

/**
 * A push stream's messages written as they come, each framed by `frame` (uncompressed frames are
 * made at once); when the socket stops taking them, the stream holds the rest until 'drain'.
 * Resolves when the stream ends or the client has gone, rejects with the stream's error.
 */
function pushInto(stream: PushStream<unknown>, sink: StreamSink, frame: (message: unknown) => Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    let control: PushControl | undefined;
    const stop = (err?: unknown) => {
      done = true;
      control?.stop();
      if (err === undefined) resolve();
      else reject(err);
    };
    const resume = () => {
      if (!done) control?.resume();
    };
    control = startPush(stream, {
      message(message) {
        if (done) return false;
        // Gone: the stream stops (its watcher unsubscribes).
        if (sink.closed) {
          stop();
          return false;
        }
        let bytes: Uint8Array;
        try {
          bytes = frame(message);
        } catch (err) {
          stop(err);
          return false;
        }
        if (sink.write(bytes)) return true;
        void sink.drained().then(resume);
        return false;
      },
      end(err) {
        done = true;
        if (err === undefined) resolve();
        else reject(err);
      },
    });
    // Gone already while it started.
    if (done) control.stop();
  });
}

/** An envelope's bytes, compressed if it is large enough. */
async function compressed(envelope: EnvelopedMessage, compression: Compression, compressMinBytes: number): Promise<Uint8Array> {
  const { flags, data } = await envelopeCompress(envelope, compression, compressMinBytes);
  return encodeEnvelope(flags, data);
}

/** The request's one message as the async iterable a stream request carries, read on first pull. */
function oneMessage<T>(read: () => Promise<T>): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      yield await read();
    },
  };
}
