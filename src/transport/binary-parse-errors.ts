/**
 * Connect-ES answers a request body that is not valid protobuf with Internal
 * ("parse binary: …"), before any interceptor runs. SPEC §5 wants InvalidArgument, so
 * the answer is rewritten here, in each protocol's own shape.
 */
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";

const PARSE_FAILURE = /^parse binary: /;
const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";
const TRAILER_FRAME = 0x80;

export async function invalidArgumentOnParseFailure(
  res: UniversalServerResponse,
  inputName: string,
): Promise<UniversalServerResponse> {
  const message = (reason: string) => `invalid ${inputName}: malformed protobuf (${reason.replace(PARSE_FAILURE, "")})`;
  const contentType = res.header?.get("content-type") ?? "";
  if (!res.body) return res;
  if (contentType.startsWith("application/grpc-web")) {
    const header = new Headers(res.header);
    header.delete("content-length");
    return { ...res, header, body: rewriteGrpcWebTrailer(res.body, message) };
  }
  if (contentType.startsWith("application/grpc")) return { ...res, body: rewriteGrpcTrailerAtEnd(res, res.body, message) };
  if (res.status === 500 && contentType.startsWith("application/json")) return rewriteConnectError(res, res.body, message);
  return res;
}

/** gRPC: the status travels in HTTP/2 trailers, which are complete once the body has been read. */
async function* rewriteGrpcTrailerAtEnd(
  res: UniversalServerResponse,
  body: AsyncIterable<Uint8Array>,
  message: (reason: string) => string,
): AsyncIterable<Uint8Array> {
  yield* body;
  for (const headers of [res.header, res.trailer]) if (headers) rewriteStatus(headers, message);
}

function rewriteStatus(headers: Headers, message: (reason: string) => string): boolean {
  const reason = decodeURIComponent(headers.get("grpc-message") ?? "");
  if (headers.get("grpc-status") !== GRPC_INTERNAL || !PARSE_FAILURE.test(reason)) return false;
  headers.set("grpc-status", GRPC_INVALID_ARGUMENT);
  headers.set("grpc-message", encodeURIComponent(message(reason)));
  return true;
}

/** gRPC-Web: the status is a trailer frame at the end of the body (unary bodies are small). */
async function* rewriteGrpcWebTrailer(body: AsyncIterable<Uint8Array>, message: (reason: string) => string): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const frames: Buffer[] = [];
  for (let at = 0; at + 5 <= bytes.length; ) {
    const end = at + 5 + bytes.readUInt32BE(at + 1);
    frames.push(bytes[at] === TRAILER_FRAME ? rewriteTrailerFrame(bytes.subarray(at, end), message) : bytes.subarray(at, end));
    at = end;
  }
  yield Buffer.concat(frames);
}

function rewriteTrailerFrame(frame: Buffer, message: (reason: string) => string): Buffer {
  const headers = new Headers();
  for (const line of frame.subarray(5).toString().split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (!rewriteStatus(headers, message)) return frame;
  let text = "";
  headers.forEach((value, key) => (text += `${key}: ${value}\r\n`));
  const payload = Buffer.from(text);
  const header = Buffer.alloc(5);
  header.writeUInt8(TRAILER_FRAME, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Connect: HTTP 500 with a JSON error body becomes 400 invalid_argument. */
async function rewriteConnectError(
  res: UniversalServerResponse,
  body: AsyncIterable<Uint8Array>,
  message: (reason: string) => string,
): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const error = JSON.parse(bytes.toString()) as { code?: string; message?: string };
  if (error.code !== "internal" || !PARSE_FAILURE.test(error.message ?? "")) return { ...res, body: once(bytes) };
  const rewritten = Buffer.from(JSON.stringify({ code: "invalid_argument", message: message(error.message!) }));
  const header = new Headers(res.header);
  header.set("content-length", String(rewritten.length));
  return { ...res, status: 400, header, body: once(rewritten) };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
