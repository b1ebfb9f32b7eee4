/**
 * The Connect protocol's unary POST calls (Connect JSON and binary), with the call context of
 * unary-context.ts instead of Connect-ES's, whose abort signals per call, and the DOMException
 * its handler builds to end each call, were a Connect call's garbage and much of its CPU
 * (bench/FINDINGS.md, "Per-call abort signals").
 *
 * Everything else is Connect-ES's own, in its order: content types, compression, the timeout
 * header, size limits, serialization, the error body and status, the trailers as headers.
 * Server streams are server-stream.ts's; GET requests, client and bidirectional streams and a
 * router that requires the protocol version header are left to Connect-ES's handler.
 * test/connect-unary.test.ts compares the two answer for answer.
 */
import { Code, ConnectError, type MethodImplSpec } from "@connectrpc/connect";
// Connect-ES's internals the fast path is built from, so that everything but the call itself stays
// Connect-ES's (marked private there; test/connect-unary.test.ts catches a change of behaviour):
import {
  compressionNegotiate, // content-encoding and accept-encoding, with its errors
  createMethodSerializationLookup, // its JSON parsing and (de)serialization with the size limits
  readAllBytes, // the body read against readMaxBytes and content-length, with its errors
  validateUniversalHandlerOptions, // its defaults for the options, as its own handlers apply them
  type ProtocolHandlerFactory, // the shape its router takes a protocol in
  type UniversalHandlerOptions,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus, // the error's HTTP status
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  createHandlerFactory as createConnectEsHandlerFactory, // for GET calls and client and bidirectional streams, which stay Connect-ES's
  errorToJsonBytes, // the error body
  headerTimeout,
  headerUnaryAcceptEncoding,
  headerUnaryContentLength,
  headerUnaryEncoding,
  parseContentType, // its content types
  parseTimeout, // connect-timeout-ms, with its errors
  trailerMux, // trailers as trailer- headers
} from "@connectrpc/connect/protocol-connect";
import { once } from "../byte-streams.js";
import { reportCode } from "../call-report.js";
import { inputParser } from "./parse.js";
import { CONNECT_STREAM, serverStreamHandler } from "./server-stream.js";
import { CALL_FINISHED, createUnaryContext, unaryInvoker } from "./unary-context.js";

type HandlerOptions = ReturnType<typeof validateUniversalHandlerOptions>;
type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;

/** The Connect protocol: unary POST calls served here, server streams by server-stream.ts, the rest by Connect-ES. */
export function createConnectHandlerFactory(options: Partial<UniversalHandlerOptions>): ProtocolHandlerFactory {
  const opt = validateUniversalHandlerOptions(options);
  const connectEs = createConnectEsHandlerFactory(options);
  const factory = (spec: MethodImplSpec) => {
    const theirs = connectEs(spec);
    if (opt.requireConnectProtocolHeader || (spec.kind !== "unary" && spec.kind !== "server_streaming")) return theirs;
    const ours =
      spec.kind === "unary" ? unaryPostHandler(opt, connectEs.protocolName, spec) : serverStreamHandler(CONNECT_STREAM, opt, connectEs.protocolName, spec);
    const handle = (req: UniversalServerRequest) => {
      const { body } = req;
      return req.method === "POST" && isByteStream(body) ? ours(req) : theirs(req);
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
  const parse = inputParser(spec.method.input, opt.binaryOptions, serialization.getI(false));
  const invoke = unaryInvoker(spec, opt.interceptors);
  return async function handle(req: UniversalServerRequest): Promise<UniversalServerResponse> {
    const body = req.body as AsyncIterable<Uint8Array>;
    const type = parseContentType(req.header.get("content-type"));
    if (type === undefined || type.stream) return { status: 415 };
    const timeout = parseTimeout(req.header.get(headerTimeout), opt.maxTimeoutMs);
    const context = createUnaryContext({
      spec,
      protocolName,
      request: req,
      timeoutMs: timeout.timeoutMs,
      shutdownSignal: opt.shutdownSignal,
      responseHeader: { "content-type": type.binary ? contentTypeUnaryProto : contentTypeUnaryJson },
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
      const input = parse(type.binary, bytes);
      const output = await invoke(context, input);
      answer = serialization.getO(type.binary).serialize(output);
    } catch (err) {
      context.finish(err);
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      code = error.code;
      status = codeToHttpStatus(error.code);
      context.responseHeader.set("content-type", contentTypeUnaryJson);
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
