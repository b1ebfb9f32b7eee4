/**
 * gRPC for unary methods, without Connect-ES's streaming pipeline. Connect-ES serves every
 * gRPC call through a chain of async-generator transforms whose generator functions it
 * creates anew for each call; V8 gives each such function a hidden class of its own in the
 * old generation, and whatever the call's closures reach then survives young-generation
 * collections: a quarter of a gRPC call's allocations, 8–12 ms scavenges where Connect calls
 * see 2 ms (README, Benchmarks). A unary call has one message each way, so this reads the
 * body, answers with one envelope and sets the status trailer, in plain async functions.
 *
 * Everything besides the framing is Connect-ES's own: the handler context (deadline, signals,
 * headers), the interceptors and implementation (invokeUnaryImplementation), serialization
 * and its size limits, compression negotiation and the status trailer; the errors for
 * malformed envelopes carry Connect-ES's codes and messages. Streaming methods (Health.Watch,
 * reflection) keep Connect-ES's gRPC handler.
 */
import { Code, ConnectError, createHandlerContext, type MethodImplSpec } from "@connectrpc/connect";
import {
  compressedFlag,
  compressionNegotiate,
  contentTypeMatcher,
  createMethodSerializationLookup,
  createMethodUrl,
  invokeUnaryImplementation,
  uResponseMethodNotAllowed,
  uResponseOk,
  uResponseUnsupportedMediaType,
  validateUniversalHandlerOptions,
  type Compression,
  type ProtocolHandlerFactory,
  type UniversalHandlerOptions,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  contentTypeJson,
  contentTypeProto,
  contentTypeRegExp,
  createHandlerFactory as createConnectGrpcHandlerFactory,
  grpcStatusOk,
  headerAcceptEncoding,
  headerContentType,
  headerEncoding,
  headerGrpcStatus,
  headerTimeout,
  parseContentType,
  parseTimeout,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";

const HEADER_BYTES = 5;
const NO_BODY: Uint8Array = new Uint8Array(0);

type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;

/** The gRPC protocol: unary methods served here, streaming ones by Connect-ES. */
export function createGrpcHandlerFactory(options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  const opt = validateUniversalHandlerOptions(options);
  const streaming = createConnectGrpcHandlerFactory(options);
  const factory = (spec: MethodImplSpec) => {
    if (spec.kind !== "unary") return streaming(spec);
    return Object.assign(unaryHandler(opt, spec), {
      protocolNames: [streaming.protocolName],
      allowedMethods: ["POST"],
      supportedContentType: contentTypeMatcher(contentTypeRegExp),
      requestPath: createMethodUrl("/", spec.method),
      service: spec.method.parent,
      method: spec.method,
    });
  };
  return Object.assign(factory, { protocolName: streaming.protocolName });
}

function unaryHandler(opt: HandlerOptions, spec: Extract<MethodImplSpec, { kind: "unary" }>) {
  const serialization = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
  return async function handle(req: UniversalServerRequest): Promise<UniversalServerResponse> {
    const type = parseContentType(req.header.get(headerContentType));
    if (type === undefined) return uResponseUnsupportedMediaType;
    if (req.method !== "POST") return uResponseMethodNotAllowed;
    const timeout = parseTimeout(req.header.get(headerTimeout), opt.maxTimeoutMs);
    const context = createHandlerContext({
      ...spec,
      service: spec.method.parent,
      requestMethod: req.method,
      protocolName: "grpc",
      timeoutMs: timeout.timeoutMs,
      shutdownSignal: opt.shutdownSignal,
      requestSignal: req.signal,
      requestHeader: req.header,
      url: req.url,
      responseHeader: { [headerContentType]: type.binary ? contentTypeProto : contentTypeJson },
      responseTrailer: { [headerGrpcStatus]: grpcStatusOk },
      contextValues: req.contextValues,
    });
    const compression = compressionNegotiate(
      opt.acceptCompression,
      req.header.get(headerEncoding),
      req.header.get(headerAcceptEncoding),
      headerAcceptEncoding,
    );
    if (compression.response) context.responseHeader.set(headerEncoding, compression.response.name);
    let body = NO_BODY;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      const input = await readSingleMessage(req.body as AsyncIterable<Uint8Array>, opt.readMaxBytes, async (envelope) =>
        serialization.getI(type.binary).parse(await decompressed(envelope, compression.request, opt.readMaxBytes)),
      );
      const output = await invokeUnaryImplementation(spec, context, input, opt.interceptors);
      body = await enveloped(serialization.getO(type.binary).serialize(output), compression.response, opt.compressMinBytes);
      context.abort();
    } catch (err) {
      context.abort(err);
      setTrailerStatus(
        context.responseTrailer,
        err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err),
      );
    }
    return { ...uResponseOk, header: context.responseHeader, body: oneChunk(body), trailer: context.responseTrailer };
  };
}

interface Envelope {
  flags: number;
  data: Uint8Array;
}

/**
 * The request's one message, in Connect-ES's order: a declared length over readMaxBytes is
 * refused as soon as its header arrives, the first message is parsed as soon as it is
 * complete, then bytes left over that do not make a whole envelope are an incomplete
 * envelope, and no message or a second one is Unimplemented.
 */
async function readSingleMessage<T>(body: AsyncIterable<Uint8Array>, readMaxBytes: number, parse: (envelope: Envelope) => Promise<T>): Promise<T> {
  let bytes = NO_BODY;
  let first: { envelope: Envelope; message: T } | undefined;
  for await (const chunk of body) {
    bytes = bytes.byteLength === 0 ? chunk : concat(bytes, chunk);
    if (!first) {
      const envelope = completeEnvelope(bytes, 0, readMaxBytes);
      if (envelope) first = { envelope, message: await parse(envelope) };
    }
    if (first && completeEnvelope(bytes, HEADER_BYTES + first.envelope.data.byteLength, readMaxBytes)) {
      throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
    }
  }
  if (bytes.byteLength > (first ? HEADER_BYTES + first.envelope.data.byteLength : 0)) {
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  if (!first) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  return first.message;
}

/** The envelope starting at `offset`, once all of it has arrived. */
function completeEnvelope(bytes: Uint8Array, offset: number, readMaxBytes: number): Envelope | undefined {
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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

async function decompressed({ flags, data }: Envelope, compression: Compression | null, readMaxBytes: number): Promise<Uint8Array> {
  if ((flags & compressedFlag) !== compressedFlag) return data;
  if (!compression) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  return compression.decompress(data, readMaxBytes);
}

async function enveloped(data: Uint8Array, compression: Compression | null, compressMinBytes: number): Promise<Uint8Array> {
  let flags = 0;
  if (compression && data.byteLength >= compressMinBytes) {
    data = await compression.compress(data);
    flags = compressedFlag;
  }
  const out = new Uint8Array(HEADER_BYTES + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, flags);
  view.setUint32(1, data.byteLength);
  out.set(data, HEADER_BYTES);
  return out;
}

/** A response body of one chunk (none when empty), as an async iterable without a generator. */
function oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      let sent = bytes.byteLength === 0;
      return {
        next: async () => {
          if (sent) return { done: true, value: undefined };
          sent = true;
          return { done: false, value: bytes };
        },
      };
    },
  };
}
