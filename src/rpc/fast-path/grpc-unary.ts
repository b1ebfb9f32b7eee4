/**
 * gRPC and gRPC-Web for unary methods, without Connect-ES's streaming pipeline. Connect-ES
 * serves every gRPC and gRPC-Web call through a chain of async-generator transforms whose
 * generator functions it creates anew for each call; V8 gives each such function a hidden
 * class of its own in the old generation, and whatever the call's closures reach then survives
 * young-generation collections: a quarter of a gRPC call's allocations, 8–12 ms scavenges where
 * Connect calls see 2 ms (README, Benchmarks). A unary call has one message each way, so this
 * reads the body and answers with one envelope and the status, creating no generator function
 * per call.
 *
 * The call's context and the call of its interceptors and implementation are ours too
 * (unary-context.ts: the signal is made only when read). The rest is Connect-ES's own:
 * serialization and its size limits, compression, and the status trailer; the errors for
 * malformed envelopes carry Connect-ES's codes and messages. Streaming methods (Health.Watch,
 * reflection) keep Connect-ES's handlers.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type MethodImplSpec } from "@connectrpc/connect";
import {
  assertByteStreamRequest,
  compressionNegotiate,
  contentTypeMatcher,
  createMethodSerializationLookup,
  createMethodUrl,
  encodeEnvelopes,
  envelopeCompress,
  uResponseMethodNotAllowed,
  uResponseOk,
  uResponseUnsupportedMediaType,
  validateUniversalHandlerOptions,
  type Compression,
  type EnvelopedMessage,
  type ProtocolHandlerFactory,
  type UniversalHandlerOptions,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import { empty, once } from "../byte-streams.js";
import { reportCode } from "../call-report.js";
import { decompressEnvelope, parseBinary } from "./parse.js";
import { CALL_FINISHED, createUnaryContext, unaryInvoker } from "./unary-context.js";

const HEADER_BYTES = 5;

/** What tells the two protocols apart for a unary call. */
interface Framing {
  connectEsFactory: typeof grpc.createHandlerFactory;
  contentTypeRegExp: RegExp;
  /** undefined for a content type this handler does not serve (gRPC-Web text is decoded before it). */
  parseContentType: (contentType: string | null) => { binary: boolean } | undefined;
  contentTypeProto: string;
  contentTypeJson: string;
  /** Request envelopes carrying this flag are passed over, as Connect-ES does (gRPC-Web's trailer flag). */
  skippedFlag: number;
  /** The status as HTTP trailers (gRPC) or as the body's last envelope (gRPC-Web). */
  trailersInBody: boolean;
}

const GRPC: Framing = {
  connectEsFactory: grpc.createHandlerFactory,
  contentTypeRegExp: grpc.contentTypeRegExp,
  parseContentType: grpc.parseContentType,
  contentTypeProto: grpc.contentTypeProto,
  contentTypeJson: grpc.contentTypeJson,
  skippedFlag: 0,
  trailersInBody: false,
};

const GRPC_WEB: Framing = {
  connectEsFactory: grpcWeb.createHandlerFactory,
  contentTypeRegExp: grpcWeb.contentTypeRegExp,
  parseContentType: (contentType) => {
    const type = grpcWeb.parseContentType(contentType);
    return type?.text ? undefined : type;
  },
  contentTypeProto: grpcWeb.contentTypeProto,
  contentTypeJson: grpcWeb.contentTypeJson,
  skippedFlag: grpcWeb.trailerFlag,
  trailersInBody: true,
};

type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;

/** The gRPC protocol: unary methods served here, streaming ones by Connect-ES. */
export function createGrpcHandlerFactory(options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  return handlerFactory(GRPC, options);
}

/** The gRPC-Web protocol: unary methods served here, streaming ones by Connect-ES. */
export function createGrpcWebHandlerFactory(options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  return handlerFactory(GRPC_WEB, options);
}

function handlerFactory(framing: Framing, options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  const opt = validateUniversalHandlerOptions(options);
  const streaming = framing.connectEsFactory(options);
  const factory = (spec: MethodImplSpec) => {
    if (spec.kind !== "unary") return streaming(spec);
    return Object.assign(unaryHandler(framing, opt, streaming.protocolName, spec), {
      protocolNames: [streaming.protocolName],
      allowedMethods: ["POST"],
      supportedContentType: contentTypeMatcher(framing.contentTypeRegExp),
      requestPath: createMethodUrl("/", spec.method),
      service: spec.method.parent,
      method: spec.method,
    });
  };
  return Object.assign(factory, { protocolName: streaming.protocolName });
}

function unaryHandler(framing: Framing, opt: HandlerOptions, protocolName: string, spec: Extract<MethodImplSpec, { kind: "unary" }>) {
  const serialization = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
  const invoke = unaryInvoker(spec, opt.interceptors);
  return async function handle(req: UniversalServerRequest): Promise<UniversalServerResponse> {
    assertByteStreamRequest(req);
    const type = framing.parseContentType(req.header.get(grpc.headerContentType));
    if (type === undefined) return uResponseUnsupportedMediaType;
    if (req.method !== "POST") return uResponseMethodNotAllowed;
    const timeout = grpc.parseTimeout(req.header.get(grpc.headerTimeout), opt.maxTimeoutMs);
    const context = createUnaryContext({
      spec,
      protocolName,
      request: req,
      timeoutMs: timeout.timeoutMs,
      shutdownSignal: opt.shutdownSignal,
      responseHeader: { [grpc.headerContentType]: type.binary ? framing.contentTypeProto : framing.contentTypeJson },
      responseTrailer: { [grpc.headerGrpcStatus]: grpc.grpcStatusOk },
    });
    const compression = compressionNegotiate(
      opt.acceptCompression,
      req.header.get(grpc.headerEncoding),
      req.header.get(grpc.headerAcceptEncoding),
      grpc.headerAcceptEncoding,
    );
    if (compression.response) context.responseHeader.set(grpc.headerEncoding, compression.response.name);
    const envelopes: EnvelopedMessage[] = [];
    let code: Code | 0 = 0;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      const input = await readSingleMessage(
        req.body,
        { input: spec.method.input, skippedFlag: framing.skippedFlag, readMaxBytes: opt.readMaxBytes, compression: compression.request },
        (data) => (type.binary ? parseBinary(spec.method.input, data, opt.binaryOptions) : serialization.getI(false).parse(data)),
      );
      const output = await invoke(context, input);
      const data = serialization.getO(type.binary).serialize(output);
      envelopes.push(await envelopeCompress({ flags: 0, data }, compression.response, opt.compressMinBytes));
      context.finish(CALL_FINISHED);
    } catch (err) {
      context.finish(err);
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      code = error.code;
      grpc.setTrailerStatus(context.responseTrailer, error);
    }
    reportCode(req, code);
    if (!framing.trailersInBody) {
      // A failed call answers with its trailers alone, no body chunk at all, as Connect-ES's does.
      const body = envelopes.length > 0 ? once(encodeEnvelopes(...envelopes)) : empty();
      return { ...uResponseOk, header: context.responseHeader, body, trailer: context.responseTrailer };
    }
    const trailer = { flags: grpcWeb.trailerFlag, data: grpcWeb.trailerSerialize(context.responseTrailer) };
    envelopes.push(await envelopeCompress(trailer, compression.response, opt.compressMinBytes));
    return { ...uResponseOk, header: context.responseHeader, body: once(encodeEnvelopes(...envelopes)) };
  };
}

/**
 * The request's one message, in Connect-ES's order: a declared length over readMaxBytes is
 * refused as soon as its header arrives, each envelope is decompressed and parsed as soon as
 * it is complete, then bytes left over that do not make a whole envelope are an incomplete
 * envelope, and no message or a second one is Unimplemented. Envelopes flagged `skippedFlag`
 * are decompressed but count for neither.
 */
async function readSingleMessage<T>(
  body: AsyncIterable<Uint8Array>,
  limits: { input: DescMessage; skippedFlag: number; readMaxBytes: number; compression: Compression | null },
  parse: (data: Uint8Array) => T,
): Promise<T> {
  let bytes: Uint8Array = Buffer.alloc(0);
  let consumed = 0;
  let message: { value: T } | undefined;
  for await (const chunk of body) {
    bytes = bytes.byteLength === 0 ? chunk : Buffer.concat([bytes, chunk]);
    for (let envelope = envelopeAt(bytes, consumed, limits.readMaxBytes); envelope; envelope = envelopeAt(bytes, consumed, limits.readMaxBytes)) {
      consumed += HEADER_BYTES + envelope.data.byteLength;
      const { data } = await decompressEnvelope(limits.input, envelope, limits.compression, limits.readMaxBytes);
      if (limits.skippedFlag && (envelope.flags & limits.skippedFlag) === limits.skippedFlag) continue;
      const value = parse(data);
      if (message) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
      message = { value };
    }
  }
  if (bytes.byteLength > consumed) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (!message) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  return message.value;
}

/** The envelope starting at `offset`, once all of it has arrived. */
function envelopeAt(bytes: Uint8Array, offset: number, readMaxBytes: number): EnvelopedMessage | undefined {
  if (bytes.byteLength < offset + HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER_BYTES);
  const length = view.getUint32(1);
  if (length > readMaxBytes) {
    throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  }
  const start = offset + HEADER_BYTES;
  if (bytes.byteLength < start + length) return undefined;
  return { flags: view.getUint8(0), data: bytes.subarray(start, start + length) };
}
