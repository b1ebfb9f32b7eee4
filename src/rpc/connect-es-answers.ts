/**
 * Connect-ES's own answers, read for the call's report and fixed where they fall short of the
 * contract. It wraps every handler of both paths; an answer the fast path made reports its own
 * status and passes untouched, so what is read here are the stock path's answers and, on the
 * fast path, client and bidirectional streams, Connect GET calls and Connect-ES's protocol negotiation.
 *
 * The fixes: Connect-ES answers a body that is not valid protobuf, or a message flagged
 * compressed without a compression named, with Internal before any interceptor runs, where
 * SPEC §5 wants InvalidArgument. The fast path maps these where it parses (fast-path/parse.ts);
 * Connect-ES's serialization turns whatever its reader throws into Internal "parse binary: …",
 * which leaves no hook, so for its parsing the message text is all there is to go by. And its
 * negotiation answers a request without a known content type (415) or with another HTTP method
 * (405) with an empty body: Connect's clients get an error in Connect's JSON shape, and 405 the
 * Allow header.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { once, readAll } from "./byte-streams.js";
import { CALL_REPORT, codeOfName, reportCode, type StatusCode } from "./call-report.js";
import { connectErrorBody, readConnectErrorBody } from "./connect-error-body.js";
import { malformedProtobuf } from "./errors.js";
import { isStreamAnswer } from "./stream-answer.js";

const PARSE_FAILURE = /^(parse binary: |received compressed envelope, but do not know how to decompress)/;
const PARSE_PREFIX = /^parse binary: /;
const TRAILER_FRAME = 0x80;
const GRPC_TYPES = /^application\/grpc/;

export function readConnectEsAnswers(handler: UniversalHandler): UniversalHandler {
  const inputName = handler.method.input.name;
  const unary = handler.method.methodKind === "unary";
  const fixMessage = (reason: string) => malformedProtobuf(inputName, reason.replace(PARSE_PREFIX, "")).rawMessage;
  const read = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    // The fast path's answers report their own status (a stream's once it has ended).
    if (isStreamAnswer(res) || req.contextValues?.get(CALL_REPORT)?.code !== undefined) return res;
    const onCode = (code: StatusCode) => reportCode(req, code);
    if ((res.status === 405 || res.status === 415) && !res.body && !GRPC_TYPES.test(req.header.get("content-type") ?? "")) {
      const allow = handler.allowedMethods.join(", ");
      const error = res.status === 405 ? notAllowed(req.method, allow) : unsupported(req.header.get("content-type"));
      return withConnectBody(res, error, onCode, res.status === 405 ? allow : undefined);
    }
    const contentType = res.header?.get("content-type") ?? "";
    const body = res.body ?? once(new Uint8Array());
    if (contentType.startsWith("application/grpc-web")) {
      if (!unary) return res;
      const header = new Headers(res.header);
      const trailersOnly = grpcStatus(header, fixMessage);
      if (trailersOnly !== undefined) {
        onCode(trailersOnly);
        return { ...res, header };
      }
      header.delete("content-length");
      return { ...res, header, body: grpcWebBody(body, fixMessage, onCode) };
    }
    if (contentType.startsWith("application/grpc")) {
      return { ...res, body: grpcBody(res, body, fixMessage, onCode) };
    }
    if (res.status === 200) {
      onCode(0);
      return res;
    }
    return connectError(res, body, fixMessage, onCode);
  };
  return Object.assign(read, {
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

const notAllowed = (method: string, allow: string) =>
  new ConnectError(`HTTP method ${method} is not supported by this procedure; use ${allow}`, Code.Unimplemented);

const unsupported = (contentType: string | null) =>
  new ConnectError(
    `${contentType ? `content-type ${contentType}` : "a request without content-type"} is not supported; use application/json or application/proto (Connect), application/grpc or application/grpc-web`,
    Code.InvalidArgument,
  );

/** The answer's status kept, with Connect's JSON error body (and an Allow header where given). */
function withConnectBody(res: UniversalServerResponse, error: ConnectError, onCode: (code: StatusCode) => void, allow?: string): UniversalServerResponse {
  onCode(error.code);
  const body = connectErrorBody(error.code, error.rawMessage);
  const header = new Headers(res.header);
  header.set("content-type", "application/json");
  header.set("content-length", String(body.byteLength));
  if (allow) header.set("allow", allow);
  return { ...res, header, body: once(body) };
}

/** Reads grpc-status (rewriting a parse failure) from headers or trailers; undefined when absent. */
function grpcStatus(headers: Headers, fixMessage: (reason: string) => string): StatusCode | undefined {
  const status = headers.get("grpc-status");
  if (status === null) return undefined;
  const reason = decodeURIComponent(headers.get("grpc-message") ?? "");
  if (Number(status) === Code.Internal && PARSE_FAILURE.test(reason)) {
    headers.set("grpc-status", String(Code.InvalidArgument));
    headers.set("grpc-message", encodeURIComponent(fixMessage(reason)));
  }
  return Number(headers.get("grpc-status")) as StatusCode;
}

/** gRPC: the status travels in HTTP/2 trailers, which are complete once the body has been read. */
async function* grpcBody(
  res: UniversalServerResponse,
  body: AsyncIterable<Uint8Array>,
  fixMessage: (reason: string) => string,
  onCode: (code: StatusCode) => void,
): AsyncIterable<Uint8Array> {
  yield* body;
  const inHeader = res.header && grpcStatus(res.header, fixMessage);
  const inTrailer = res.trailer && grpcStatus(res.trailer, fixMessage);
  onCode(inHeader ?? inTrailer ?? Code.Unknown);
}

/** gRPC-Web: the status is a trailer frame at the end of the body. */
async function* grpcWebBody(
  body: AsyncIterable<Uint8Array>,
  fixMessage: (reason: string) => string,
  onCode: (code: StatusCode) => void,
): AsyncIterable<Uint8Array> {
  const bytes = await readAll(body);
  const frames: Buffer[] = [];
  let code: StatusCode = Code.Unknown;
  for (let at = 0; at + 5 <= bytes.length; ) {
    const end = at + 5 + bytes.readUInt32BE(at + 1);
    const frame = bytes.subarray(at, end);
    if (bytes[at] === TRAILER_FRAME) {
      const trailer = parseTrailer(frame.subarray(5));
      code = grpcStatus(trailer, fixMessage) ?? Code.Unknown;
      frames.push(encodeTrailer(trailer));
    } else {
      frames.push(frame);
    }
    at = end;
  }
  onCode(code);
  yield Buffer.concat(frames);
}

function parseTrailer(payload: Buffer): Headers {
  const headers = new Headers();
  for (const line of payload.toString().split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}

function encodeTrailer(headers: Headers): Buffer {
  let text = "";
  headers.forEach((value, key) => (text += `${key}: ${value}\r\n`));
  const payload = Buffer.from(text);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(TRAILER_FRAME, 0);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}

/** Connect: an error is a non-200 status with a JSON body naming the code. */
async function connectError(
  res: UniversalServerResponse,
  body: AsyncIterable<Uint8Array>,
  fixMessage: (reason: string) => string,
  onCode: (code: StatusCode) => void,
): Promise<UniversalServerResponse> {
  const bytes = await readAll(body);
  const error = readConnectErrorBody(bytes);
  if (error.code !== "internal" || !PARSE_FAILURE.test(error.message ?? "")) {
    onCode(codeOfName(error.code ?? "") ?? Code.Unknown);
    return { ...res, body: once(bytes) };
  }
  onCode(Code.InvalidArgument);
  const rewritten = connectErrorBody(Code.InvalidArgument, fixMessage(error.message!));
  const header = new Headers(res.header);
  header.set("content-length", String(rewritten.length));
  return { ...res, status: 400, header, body: once(rewritten) };
}
