/**
 * Reads an answer in its protocol's own shape and fails the test when it is not that
 * shape: Connect (non-2xx, JSON {code, message}), gRPC (grpc-status in trailers or a
 * trailers-only answer), gRPC-Web (headers or the trailer frame, binary or base64),
 * REST (grpc-gateway {code, message, details}). The HTTP status is checked against the
 * code by the table both Connect and SPEC §5 use.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { expect } from "vitest";
import { preview } from "./fuzz-bytes.js";
import type { HttpAnswer } from "./fuzz-http.js";
import { decodes, type Codec, type Wire } from "./fuzz-wires.js";

export interface Outcome {
  /** The gRPC status code; 0 when the call succeeded. */
  code: number;
  message: string;
}

/** Connect's code names, by number (1..16). */
const CONNECT_CODES = ["canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"];

const HTTP_STATUS = [0, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

const TRAILER_FLAG = 0x80;

/** Never the answer to what a client sent: Unknown and Internal say the server itself failed. */
const SERVER_FAULTS = new Set([2, 13]);

/** What must never reach a client: stack traces, SQL, file paths. */
const LEAK = /\n\s+at |SQLITE|SELECT |node_modules/;

export interface Expected {
  /** The request was valid, so success is a possible answer. */
  mayHaveSucceeded: boolean;
  output: DescMessage;
  /** What was sent, for the failure message. */
  describe: string;
}

export function expectAcceptable(outcome: Outcome, expected: Expected): void {
  const said = `${expected.describe}\n  → code ${outcome.code} ${JSON.stringify(outcome.message)}`;
  if (outcome.code === 0) expect(expected.mayHaveSucceeded, `succeeded on an invalid request: ${said}`).toBe(true);
  expect(SERVER_FAULTS.has(outcome.code), `a server fault for client input: ${said}`).toBe(false);
  expect(outcome.message, `leaks internals: ${said}`).not.toMatch(LEAK);
}

const describeAnswer = (answer: HttpAnswer) => `HTTP ${answer.status} ${JSON.stringify(answer.headers)} trailers ${JSON.stringify(answer.trailers)} body ${preview(answer.body, 300)}`;

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

function validCode(raw: string | undefined, context: string): number {
  expect(raw ?? "(none)", `no valid grpc-status: ${context}`).toMatch(/^(0|[1-9]|1[0-6])$/);
  return Number(raw);
}

function grpcMessage(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? "");
  } catch {
    return raw ?? "";
  }
}

interface Frame {
  flags: number;
  data: Buffer;
}

function frames(body: Buffer, context: string): Frame[] {
  const found: Frame[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const end = at + 5 + body.readUInt32BE(at + 1);
    found.push({ flags: body[at]!, data: body.subarray(at + 5, end) });
    at = end;
  }
  expect(at, `body is not whole envelopes: ${context}`).toBe(body.length);
  return found;
}

/** A successful answer carries one uncompressed message of the method's output type. */
function expectOneMessage(dataFrames: Frame[], output: DescMessage, codec: Codec, context: string): void {
  expect(dataFrames.length, `success without exactly one message: ${context}`).toBe(1);
  expect(dataFrames[0]!.flags, context).toBe(0);
  expect(decodes(output, codec, dataFrames[0]!.data), `success whose message is not a ${output.typeName}: ${context}`).toBe(true);
}

function readConnect(answer: HttpAnswer, output: DescMessage, codec: Codec, context: string): Outcome {
  if (answer.status === 200) {
    expect(decodes(output, codec, answer.body), `200 whose body is not a ${output.typeName}: ${context}`).toBe(true);
    return { code: 0, message: "" };
  }
  expect(answer.headers["content-type"] ?? "(none)", `Connect error not JSON: ${context}`).toMatch(/^application\/json/);
  const error = parseJson(answer.body) as { code?: unknown; message?: unknown } | undefined;
  const code = CONNECT_CODES.indexOf(String(error?.code)) + 1;
  expect(code, `Connect error without a valid code: ${context}`).toBeGreaterThan(0);
  expect(["string", "undefined"], `Connect error message not a string: ${context}`).toContain(typeof error!.message);
  expect(answer.status, `HTTP status does not match ${String(error!.code)}: ${context}`).toBe(HTTP_STATUS[code]);
  return { code, message: String(error!.message ?? "") };
}

function readGrpc(answer: HttpAnswer, output: DescMessage, codec: Codec, context: string): Outcome {
  expect(answer.status, `gRPC answers HTTP 200: ${context}`).toBe(200);
  expect(answer.headers["content-type"] ?? "(none)", context).toMatch(/^application\/grpc/);
  const status = answer.trailers["grpc-status"] ?? answer.headers["grpc-status"];
  const code = validCode(status, context);
  const dataFrames = frames(answer.body, context);
  if (code === 0) expectOneMessage(dataFrames, output, codec, context);
  return { code, message: grpcMessage(answer.trailers["grpc-message"] ?? answer.headers["grpc-message"]) };
}

function readGrpcWeb(answer: HttpAnswer, output: DescMessage, codec: Codec, text: boolean, context: string): Outcome {
  expect(answer.status, `gRPC-Web answers HTTP 200: ${context}`).toBe(200);
  expect(answer.headers["content-type"] ?? "(none)", context).toMatch(text ? /^application\/grpc-web-text/ : /^application\/grpc-web(\+|;|$)/);
  const body = text ? Buffer.from(answer.body.toString("latin1"), "base64") : answer.body;
  const all = frames(body, context);
  const trailer = all.find((f) => (f.flags & TRAILER_FLAG) !== 0);
  const fields = new Map<string, string>();
  for (const line of trailer?.data.toString("latin1").split("\r\n") ?? []) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (trailer) expect(all.at(-1), `trailer frame is not last: ${context}`).toBe(trailer);
  const status = fields.get("grpc-status") ?? answer.headers["grpc-status"];
  const code = validCode(status, context);
  if (code === 0) expectOneMessage(all.filter((f) => f !== trailer), output, codec, context);
  return { code, message: grpcMessage(fields.get("grpc-message") ?? answer.headers["grpc-message"]) };
}

export function readRpcAnswer(wire: Wire, codec: Codec, answer: HttpAnswer, expected: Expected): Outcome {
  const context = `${expected.describe}\n  ← ${describeAnswer(answer)}`;
  switch (wire) {
    case "connect":
      return readConnect(answer, expected.output, codec, context);
    case "grpc":
      return readGrpc(answer, expected.output, codec, context);
    case "grpc-web":
    case "grpc-web-text":
      return readGrpcWeb(answer, expected.output, codec, wire === "grpc-web-text", context);
  }
}

/** grpc-gateway: a JSON body; on errors {code: number, message, details: []} with the code's HTTP status (405 for a wrong verb). */
export function readRestAnswer(answer: HttpAnswer, expected: Expected): Outcome {
  const context = `${expected.describe}\n  ← ${describeAnswer(answer)}`;
  expect(answer.headers["content-type"] ?? "(none)", `REST answer not JSON: ${context}`).toMatch(/^application\/json/);
  const body = parseJson(answer.body) as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  if (answer.status >= 200 && answer.status < 300) {
    expect(decodes(expected.output, "json", answer.body), `${answer.status} whose body is not a ${expected.output.typeName}: ${context}`).toBe(true);
    return { code: 0, message: "" };
  }
  expect(body !== null && typeof body === "object", `REST error not a JSON object: ${context}`).toBe(true);
  const code = body!.code;
  expect(Number.isInteger(code) && (code as number) >= 1 && (code as number) <= 16, `REST error without a valid code: ${context}`).toBe(true);
  expect(body!.message, `REST error message not a string: ${context}`).toBeTypeOf("string");
  expect(Array.isArray(body!.details), `REST error details not an array: ${context}`).toBe(true);
  const wrongVerb = answer.status === 405 && code === 12 && answer.headers.allow !== undefined;
  if (!wrongVerb) expect(answer.status, `HTTP status does not match code ${String(code)}: ${context}`).toBe(HTTP_STATUS[code as number]);
  return { code: code as number, message: body!.message as string };
}
