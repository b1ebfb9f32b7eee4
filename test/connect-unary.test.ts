/**
 * src/rpc/fast-path/connect-unary.ts against Connect-ES's own Connect handler as the stock path serves it (rpc/connect-es-answers.ts): the same request,
 * sent to both, must get the same answer (status, headers, body bytes), for good calls in JSON
 * and binary, failing calls, compression, deadlines, limits and malformed bodies. The
 * real-server suites (lifecycle, bad-input, fuzz, rest) then run it over HTTP with real clients.
 */
import { gzipSync } from "node:zlib";
import { Code, createContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { createHandlerFactory as createConnectEsHandlerFactory } from "@connectrpc/connect/protocol-connect";
import { describe, expect, it } from "vitest";
import { UserService } from "../gen/zitadel/user/v2/user_service_pb.js";
import { createConnectHandlerFactory } from "../src/rpc/fast-path/connect-unary.js";
import { CALL_REPORT } from "../src/rpc/call-report.js";
import { readConnectEsAnswers } from "../src/rpc/connect-es-answers.js";
import { idMessage, method, OPTIONS, spec } from "./support/unary-method.js";

interface Call {
  body: Uint8Array | string;
  header?: Record<string, string>;
  method?: string;
  /** The body as a parsed JSON value instead of bytes, as some server frameworks pass it. */
  parsedJson?: boolean;
}

function request({ body, header = {}, method: httpMethod = "POST", parsedJson = false }: Call): UniversalServerRequest {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  return {
    httpVersion: "2.0",
    method: httpMethod,
    url: `http://localhost/${UserService.typeName}/${method.name}?connect=v1&encoding=json&message=${encodeURIComponent('{"userId":"get1"}')}`,
    header: new Headers({ "content-type": "application/json", ...header }),
    body: parsedJson
      ? (JSON.parse(bytes.toString()) as UniversalServerRequest["body"])
      : (async function* () {
          yield bytes;
        })(),
    signal: new AbortController().signal,
    // As the edge sets it: an answer the fast path made reports its status, and the stock path's reader leaves it as it is.
    contextValues: createContextValues().set(CALL_REPORT, { address: "", retryAfterS: 0, credentialsFailed: false }),
  };
}

type Handler = UniversalHandler;

async function answer(handler: Handler, call: Call) {
  const res = await handler(request(call));
  const chunks: number[] = [];
  if (res.body && Symbol.asyncIterator in res.body) for await (const c of res.body) chunks.push(...c);
  return { status: res.status, header: [...new Headers(res.header).entries()], trailer: [...new Headers(res.trailer).entries()], body: Buffer.from(chunks) };
}

const fastPath = createConnectHandlerFactory(OPTIONS)(spec);
// Every handler is served through the reader of Connect-ES's answers, which leaves the fast path's own answers as they are.
const ours = readConnectEsAnswers(fastPath);
const connectEs = readConnectEsAnswers(createConnectEsHandlerFactory(OPTIONS)(spec));

async function expectSameAnswer(call: Call) {
  const expected = await answer(connectEs, call);
  expect(await answer(ours, call)).toEqual(expected);
  return { ...expected, json: () => JSON.parse(expected.body.toString()) as Record<string, unknown>, get: (name: string) => new Headers(expected.header).get(name) };
}

const json = (userId: string) => JSON.stringify({ userId });

describe("Connect unary handler, compared with Connect-ES's", () => {
  it("answers in JSON and in binary with the implementation's and interceptors' headers, and trailers as trailer- headers", async () => {
    const a = await expectSameAnswer({ body: json("u1") });
    expect(a.status).toBe(200);
    expect(a.json()).toMatchObject({ user: { userId: "u1" } });
    expect(a.get("x-interceptor")).toBe("seen");
    expect(a.get("trailer-x-impl-trailer")).toBe("trailer");
    const b = await expectSameAnswer({ body: idMessage("u2"), header: { "content-type": "application/proto" } });
    expect(b.get("content-type")).toBe("application/proto");
    expect(b.body.byteLength).toBeGreaterThan(0);
  });

  it("gives the interceptors and the implementation the same request and context, with or without a deadline", async () => {
    const headers: Record<string, string>[] = [{ "x-custom": "yes" }, { "x-custom": "timed", "connect-timeout-ms": "5000" }];
    for (const header of headers) {
      const a = await expectSameAnswer({ body: json("u3"), header });
      expect(a.get("x-context")).toContain(`connect POST`);
      expect(a.get("x-context")).toContain(`${header["x-custom"]} interceptor ${"connect-timeout-ms" in header ? "ahead" : "none"} false`);
    }
  });

  it("gives the implementation the request an interceptor passed on in place of the call's", async () => {
    const a = await expectSameAnswer({ body: json("u4"), header: { "x-custom": "yes", "x-replace": "1" } });
    expect(a.get("x-context")).toContain("replaced replacement none false");
  });

  it("aborts the implementation's signal at the deadline, with DeadlineExceeded", async () => {
    const a = await expectSameAnswer({ body: json("wait"), header: { "connect-timeout-ms": "30" } });
    expect(a.json()).toMatchObject({ code: "deadline_exceeded" });
  });

  it("answers a ConnectError with its code, status, message and metadata, and hides a plain error", async () => {
    const missing = await expectSameAnswer({ body: json("missing") });
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ code: "not_found", message: "User could not be found" });
    expect(missing.get("x-error-meta")).toBe("1");
    const boom = await expectSameAnswer({ body: json("boom") });
    expect(boom.status).toBe(500);
    expect(boom.json()).toEqual({ code: "internal", message: "internal error" });
  });

  it("reads a gzip-compressed body and compresses an answer the client accepts", async () => {
    const a = await expectSameAnswer({ body: gzipSync(json("u5")), header: { "content-encoding": "gzip", "accept-encoding": "gzip" } });
    expect(a.status).toBe(200);
    const long = await expectSameAnswer({ body: json("u".repeat(40)), header: { "accept-encoding": "gzip" } });
    expect(long.status).toBe(200);
  });

  it("refuses an unknown content-encoding, a malformed timeout, a body over the limit and a malformed body the same way", async () => {
    const calls: [Call, number][] = [
      [{ body: json("u6"), header: { "content-encoding": "br" } }, 501],
      [{ body: json("u6"), header: { "connect-timeout-ms": "soon" } }, 400],
      [{ body: json("u".repeat(80)) }, 429],
      [{ body: json("u6"), header: { "content-length": "999" } }, 429],
      [{ body: "{not json" }, 400],
      // InvalidArgument: mapped where the fast path parses, and in Connect-ES's answer by the stock path's reader.
      [{ body: Uint8Array.of(0xff, 0xff), header: { "content-type": "application/proto" } }, 400],
    ];
    for (const [call, status] of calls) expect((await expectSameAnswer(call)).status).toBe(status);
    const malformed = await answer(fastPath, { body: Uint8Array.of(0xff, 0xff), header: { "content-type": "application/proto" } });
    expect(JSON.parse(malformed.body.toString())).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^invalid GetUserByIDRequest: malformed protobuf/) });
  });

  it("refuses an unknown JSON field alike when the options say so, as the server's do", async () => {
    const options = { ...OPTIONS, jsonOptions: { ignoreUnknownFields: false } };
    const call = { body: JSON.stringify({ userId: "u6", unknownField: 1 }) };
    const expected = await answer(createConnectEsHandlerFactory(options)(spec), call);
    expect(expected.status).toBe(400);
    expect(await answer(createConnectHandlerFactory(options)(spec), call)).toEqual(expected);
  });

  it("refuses another content type, and leaves GET and parsed JSON bodies to Connect-ES", async () => {
    const streaming = await expectSameAnswer({ body: json("u7"), header: { "content-type": "application/connect+json" } });
    expect(streaming.status).toBe(415);
    const unsupported = await expectSameAnswer({ body: json("u8"), header: { "content-type": "text/plain" } });
    expect(unsupported.status).toBe(415);
    expect(unsupported.json()).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("content-type text/plain is not supported") });
    // GetUserByID is not marked free of side effects, so both refuse GET, in Connect's error shape with Allow.
    const get = await expectSameAnswer({ body: "", method: "GET" });
    expect(get.status).toBe(405);
    expect(get.get("allow")).toBe("POST");
    expect(get.json()).toMatchObject({ code: "unimplemented" });
    const parsed = await expectSameAnswer({ body: json("u9"), parsedJson: true });
    expect(parsed.json()).toMatchObject({ user: { userId: "u9" } });
  });

  it("ends the call with a shared reason, not a DOMException built per call", async () => {
    let seen: unknown;
    const watching = createConnectHandlerFactory({})({
      ...spec,
      impl: (_req: unknown, ctx: { signal: AbortSignal }) => {
        ctx.signal.addEventListener("abort", () => (seen = ctx.signal.reason));
        return {};
      },
    } as typeof spec);
    const res = await watching(request({ body: json("u10") }));
    expect(res.status).toBe(200);
    expect(seen).toMatchObject({ code: Code.Canceled, rawMessage: "the call has finished" });
  });
});
