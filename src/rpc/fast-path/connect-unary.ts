/**
 * The Connect protocol's unary POST calls (Connect JSON and binary, and REST, which becomes
 * Connect JSON), with the call context of unary-context.ts instead of Connect-ES's. Connect-ES's
 * createHandlerContext makes two abort signals per call and reads the request's, which makes a
 * third (src/http/universal-request.ts); on Node 20 each AbortSignal outlives young-generation
 * collections, and such garbage brings the full collections whose pauses are the latency tail
 * (README, Benchmarks). Its handler also ends every call with abort() without a reason, which
 * builds a DOMException with its stack: 7% of the server's CPU under a Connect no-op load.
 *
 * Everything else is Connect-ES's own, in its order: content types, compression, the timeout
 * header, size limits, serialization, the error body and status, the trailers as headers. GET
 * requests, streaming methods and a router that requires the protocol version header are left
 * to Connect-ES's handler. test/connect-unary.test.ts compares the two answer for answer.
 */
import { Code, ConnectError, type MethodImplSpec } from "@connectrpc/connect";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  readAllBytes,
  uResponseUnsupportedMediaType,
  validateUniversalHandlerOptions,
  type ProtocolHandlerFactory,
  type UniversalHandlerOptions,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  createHandlerFactory as createConnectEsHandlerFactory,
  errorToJsonBytes,
  headerContentType,
  headerTimeout,
  headerUnaryAcceptEncoding,
  headerUnaryContentLength,
  headerUnaryEncoding,
  parseContentType,
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import { once } from "../byte-streams.js";
import { reportCode } from "../call-report.js";
import { parseBinary } from "./parse.js";
import { CALL_FINISHED, createUnaryContext, unaryInvoker } from "./unary-context.js";

type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;
type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

/** The Connect protocol: unary POST calls served here, the rest by Connect-ES. */
export function createConnectHandlerFactory(options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  const opt = validateUniversalHandlerOptions(options);
  const connectEs = createConnectEsHandlerFactory(options);
  const factory = (spec: MethodImplSpec) => {
    const theirs = connectEs(spec);
    if (spec.kind !== "unary" || opt.requireConnectProtocolHeader) return theirs;
    const ours = unaryPostHandler(opt, connectEs.protocolName, spec);
    const handle = (req: UniversalServerRequest) => {
      const { body } = req;
      return req.method === "POST" && isByteStream(body) ? ours(req, body) : theirs(req);
    };
    return Object.assign(handle, {
      protocolNames: theirs.protocolNames,
      allowedMethods: theirs.allowedMethods,
      supportedContentType: theirs.supportedContentType,
      requestPath: theirs.requestPath,
      service: theirs.service,
      method: theirs.method,
    });
  };
  return Object.assign(factory, { protocolName: connectEs.protocolName });
}

const isByteStream = (body: unknown): body is AsyncIterable<Uint8Array> =>
  typeof body === "object" && body !== null && Symbol.asyncIterator in body;

function unaryPostHandler(opt: HandlerOptions, protocolName: string, spec: UnarySpec) {
  const serialization = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
  const invoke = unaryInvoker(spec, opt.interceptors);
  return async function handle(req: UniversalServerRequest, body: AsyncIterable<Uint8Array>): Promise<UniversalServerResponse> {
    const type = parseContentType(req.header.get(headerContentType));
    if (type === undefined || type.stream) return uResponseUnsupportedMediaType;
    const timeout = parseTimeout(req.header.get(headerTimeout), opt.maxTimeoutMs);
    const context = createUnaryContext({
      spec,
      protocolName,
      request: req,
      timeoutMs: timeout.timeoutMs,
      shutdownSignal: opt.shutdownSignal,
      responseHeader: { [headerContentType]: type.binary ? contentTypeUnaryProto : contentTypeUnaryJson },
      responseTrailer: {},
    });
    const compression = compressionNegotiate(
      opt.acceptCompression,
      req.header.get(headerUnaryEncoding),
      req.header.get(headerUnaryAcceptEncoding),
      headerUnaryAcceptEncoding,
    );
    let status = 200;
    let code: Code | 0 = 0;
    let answer: Uint8Array;
    try {
      if (compression.error) throw compression.error;
      if (timeout.error) throw timeout.error;
      let bytes = await readAllBytes(body, opt.readMaxBytes, req.header.get(headerUnaryContentLength));
      if (compression.request) bytes = await compression.request.decompress(bytes, opt.readMaxBytes);
      const input = type.binary ? parseBinary(spec.method.input, bytes, opt.binaryOptions) : serialization.getI(false).parse(bytes);
      const output = await invoke(context, input);
      answer = serialization.getO(type.binary).serialize(output);
    } catch (err) {
      context.finish(err);
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      code = error.code;
      status = codeToHttpStatus(error.code);
      context.responseHeader.set(headerContentType, contentTypeUnaryJson);
      error.metadata.forEach((value, key) => context.responseHeader.set(key, value));
      answer = errorToJsonBytes(error, opt.jsonOptions);
    }
    context.finish(CALL_FINISHED);
    reportCode(req, code);
    if (compression.response && answer.byteLength >= opt.compressMinBytes) {
      answer = await compression.response.compress(answer);
      context.responseHeader.set(headerUnaryEncoding, compression.response.name);
    }
    const header = trailerMux(context.responseHeader, context.responseTrailer);
    header.set(headerUnaryContentLength, answer.byteLength.toString(10));
    return { status, header, body: once(answer) };
  };
}
