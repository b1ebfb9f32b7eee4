/**
 * gRPC and gRPC-Web for unary methods, without Connect-ES's streaming pipeline, whose generator
 * functions made anew per call left a quarter of a gRPC call's allocations surviving scavenges
 * (bench/FINDINGS.md, "Generator functions per call"). A unary call has one message each way,
 * so this reads the body and answers with one envelope and the status.
 *
 * The call's context and the call of its interceptors and implementation are ours too
 * (unary-context.ts: the signal is made only when read). The rest is Connect-ES's own:
 * serialization and its size limits, compression, and the status trailer; the errors for
 * malformed envelopes carry Connect-ES's codes and messages, but for a body that is not the
 * message (parse.ts). Server-streaming methods (WatchUserEvents, Health.Watch) are served by
 * server-stream.ts; client and bidirectional streams (reflection) keep Connect-ES's handlers.
 */
import { Code, ConnectError, type MethodImplSpec } from "@connectrpc/connect";
// Connect-ES's internals the fast path is built from, so that everything but the call itself stays
// Connect-ES's (marked private there; test/grpc-unary.test.ts catches a change of behaviour):
import {
  assertByteStreamRequest, // its refusal of a body that is not a byte stream
  compressionNegotiate, // grpc-encoding and grpc-accept-encoding, with its errors
  contentTypeMatcher, // what its protocol negotiation reads from a handler
  createMethodSerializationLookup, // its JSON parsing and (de)serialization with the size limits
  createMethodUrl,
  encodeEnvelopes, // its framing of the answer
  envelopeCompress,
  validateUniversalHandlerOptions, // its defaults for the options, as its own handlers apply them
  type EnvelopedMessage,
  type ProtocolHandlerFactory, // the shape its router takes a protocol in
  type UniversalHandlerOptions,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  createHandlerFactory as createGrpcEsFactory, // for client and bidirectional streams, which stay Connect-ES's
  contentTypeJson as grpcJson,
  contentTypeProto as grpcProto,
  contentTypeRegExp as grpcContentTypes, // its content types and their parsing
  headerAcceptEncoding,
  headerEncoding,
  headerGrpcStatus,
  headerTimeout,
  parseContentType as parseGrpcContentType,
  parseTimeout, // grpc-timeout, with its errors
  setTrailerStatus, // the status, message and details as its trailers carry them
} from "@connectrpc/connect/protocol-grpc";
import {
  createHandlerFactory as createGrpcWebEsFactory,
  contentTypeJson as grpcWebJson,
  contentTypeProto as grpcWebProto,
  contentTypeRegExp as grpcWebContentTypes,
  parseContentType as parseGrpcWebContentType,
  trailerSerialize, // gRPC-Web's trailer envelope
} from "@connectrpc/connect/protocol-grpc-web";
import { empty, once } from "../byte-streams.js";
import { reportCode } from "../call-report.js";
import { inputParser, readSingleMessage } from "./parse.js";
import { GRPC_STREAM, GRPC_WEB_STREAM, serverStreamHandler, type StreamProtocol } from "./server-stream.js";
import { CALL_FINISHED, createUnaryContext, unaryInvoker } from "./unary-context.js";

/** gRPC-Web's flag of the envelope that carries the trailers. */
const TRAILER_FLAG = 0x80;

/** What tells the two protocols apart for a unary call. */
interface Framing {
  connectEsFactory: typeof createGrpcEsFactory;
  contentTypeRegExp: RegExp;
  /** undefined for a content type this handler does not serve (gRPC-Web text is decoded before it). */
  parseContentType: (contentType: string | null) => { binary: boolean } | undefined;
  contentTypeProto: string;
  contentTypeJson: string;
  /** Request envelopes carrying this flag are passed over, as Connect-ES does (gRPC-Web's trailer flag). */
  skippedFlag: number;
  /** The status as HTTP trailers (gRPC) or as the body's last envelope (gRPC-Web). */
  trailersInBody: boolean;
  /** The same protocol's server streams (server-stream.ts). */
  stream: StreamProtocol;
}

const GRPC: Framing = {
  connectEsFactory: createGrpcEsFactory,
  contentTypeRegExp: grpcContentTypes,
  parseContentType: parseGrpcContentType,
  contentTypeProto: grpcProto,
  contentTypeJson: grpcJson,
  skippedFlag: 0,
  trailersInBody: false,
  stream: GRPC_STREAM,
};

const GRPC_WEB: Framing = {
  connectEsFactory: createGrpcWebEsFactory,
  contentTypeRegExp: grpcWebContentTypes,
  parseContentType: (contentType) => {
    const type = parseGrpcWebContentType(contentType);
    return type?.text ? undefined : type;
  },
  contentTypeProto: grpcWebProto,
  contentTypeJson: grpcWebJson,
  skippedFlag: TRAILER_FLAG,
  trailersInBody: true,
  stream: GRPC_WEB_STREAM,
};

type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;

/** The gRPC protocol: unary methods served here, server streams by server-stream.ts, other streams by Connect-ES. */
export function createGrpcHandlerFactory(options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  return handlerFactory(GRPC, options);
}

/** The gRPC-Web protocol: unary methods served here, server streams by server-stream.ts, other streams by Connect-ES. */
export function createGrpcWebHandlerFactory(options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  return handlerFactory(GRPC_WEB, options);
}

function handlerFactory(framing: Framing, options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  const opt = validateUniversalHandlerOptions(options);
  const streaming = framing.connectEsFactory(options);
  const factory = (spec: MethodImplSpec) => {
    if (spec.kind !== "unary" && spec.kind !== "server_streaming") return streaming(spec);
    const handler =
      spec.kind === "unary" ? unaryHandler(framing, opt, streaming.protocolName, spec) : serverStreamHandler(framing.stream, opt, streaming.protocolName, spec);
    return Object.assign(handler, {
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
  const parse = inputParser(spec.method.input, opt.binaryOptions, serialization.getI(false));
  const invoke = unaryInvoker(spec, opt.interceptors);
  return async function handle(req: UniversalServerRequest): Promise<UniversalServerResponse> {
    assertByteStreamRequest(req);
    const type = framing.parseContentType(req.header.get("content-type"));
    if (type === undefined) return { status: 415 };
    if (req.method !== "POST") return { status: 405 };
    const timeout = parseTimeout(req.header.get(headerTimeout), opt.maxTimeoutMs);
    const context = createUnaryContext({
      spec,
      protocolName,
      request: req,
      timeoutMs: timeout.timeoutMs,
      shutdownSignal: opt.shutdownSignal,
      responseHeader: { "content-type": type.binary ? framing.contentTypeProto : framing.contentTypeJson },
      responseTrailer: { [headerGrpcStatus]: "0" },
    });
    const compression = compressionNegotiate(
      opt.acceptCompression,
      req.header.get(headerEncoding),
      req.header.get(headerAcceptEncoding),
      headerAcceptEncoding,
    );
    if (compression.response) context.responseHeader.set(headerEncoding, compression.response.name);
    const envelopes: EnvelopedMessage[] = [];
    let code: Code | 0 = 0;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      const input = await readSingleMessage(
        req.body,
        { input: spec.method.input, skippedFlag: framing.skippedFlag, readMaxBytes: opt.readMaxBytes, compression: compression.request },
        (data) => parse(type.binary, data),
        "unary",
      );
      const output = await invoke(context, input);
      const data = serialization.getO(type.binary).serialize(output);
      envelopes.push(await envelopeCompress({ flags: 0, data }, compression.response, opt.compressMinBytes));
      context.finish(CALL_FINISHED);
    } catch (err) {
      context.finish(err);
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      code = error.code;
      setTrailerStatus(context.responseTrailer, error);
    }
    reportCode(req, code);
    if (!framing.trailersInBody) {
      // A failed call answers with its trailers alone, no body chunk at all, as Connect-ES's does.
      const body = envelopes.length > 0 ? once(encodeEnvelopes(...envelopes)) : empty();
      return { status: 200, header: context.responseHeader, body, trailer: context.responseTrailer };
    }
    const trailer = { flags: TRAILER_FLAG, data: trailerSerialize(context.responseTrailer) };
    envelopes.push(await envelopeCompress(trailer, compression.response, opt.compressMinBytes));
    return { status: 200, header: context.responseHeader, body: once(encodeEnvelopes(...envelopes)) };
  };
}
