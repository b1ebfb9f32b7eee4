/**
 * Reads the final status of a Connect-ES response in each protocol's own shape, for the
 * call log and metrics, and fixes one answer on the way: Connect-ES answers a body that
 * is not valid protobuf ("parse binary: …"), or a message flagged compressed without a
 * compression named, with Internal before any interceptor runs, where SPEC §5 wants
 * InvalidArgument: both are the client's mistake.
 */
import { Code } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { once, readAll } from "./byte-streams.js";

const PARSE_FAILURE = /^(parse binary: |received compressed envelope, but do not know how to decompress)/;
const PARSE_PREFIX = /^parse binary: /;
const TRAILER_FRAME = 0x80;

/** The gRPC status code a call ended with; 0 is OK. */
export type StatusCode = Code | 0;

export interface OutcomeOptions {
  inputName: string;
  /** Unary gRPC-Web bodies are small and read whole; streams pass through unread. */
  unary: boolean;
  onCode(code: StatusCode): void;
}

export async function inspectOutcome(res: UniversalServerResponse, options: OutcomeOptions): Promise<UniversalServerResponse> {
  const fixMessage = (reason: string) => `invalid ${options.inputName}: malformed protobuf (${reason.replace(PARSE_PREFIX, "")})`;
  const contentType = res.header?.get("content-type") ?? "";
  const body = res.body ?? once(new Uint8Array());
  if (contentType.startsWith("application/grpc-web")) {
    if (!options.unary) return res;
    const header = new Headers(res.header);
    const trailersOnly = grpcStatus(header, fixMessage);
    if (trailersOnly !== undefined) {
      options.onCode(trailersOnly);
      return { ...res, header };
    }
    header.delete("content-length");
    return { ...res, header, body: grpcWebBody(body, fixMessage, options.onCode) };
  }
  if (contentType.startsWith("application/grpc")) {
    return { ...res, body: grpcBody(res, body, fixMessage, options.onCode) };
  }
  if (res.status === 200) {
    options.onCode(0);
    return res;
  }
  return connectError(res, body, fixMessage, options.onCode);
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
  let error: { code?: string; message?: string } = {};
  try {
    error = JSON.parse(bytes.toString()) as typeof error;
  } catch {
    // Not a Connect error body (e.g. 415 from a wrong content type): the status says enough.
  }
  if (error.code !== "internal" || !PARSE_FAILURE.test(error.message ?? "")) {
    onCode((error.code && codeFromString(error.code)) || Code.Unknown);
    return { ...res, body: once(bytes) };
  }
  onCode(Code.InvalidArgument);
  const rewritten = Buffer.from(JSON.stringify({ code: "invalid_argument", message: fixMessage(error.message!) }));
  const header = new Headers(res.header);
  header.set("content-length", String(rewritten.length));
  return { ...res, status: 400, header, body: once(rewritten) };
}
