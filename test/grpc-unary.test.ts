/**
 * src/rpc/fast-path/grpc-unary.ts against Connect-ES's own gRPC and gRPC-Web handlers as the
 * stock path serves them (rpc/connect-es-answers.ts): the same
 * request, sent to both, must get the same answer (status, headers, trailers, body bytes), for
 * good calls, failing calls and every kind of malformed frame. The real-server suites
 * (bad-input, fuzz, buf-curl, lifecycle, grpc-web-text) then run it over HTTP with real clients.
 */
import { gzipSync } from "node:zlib";
import { create, toJsonString } from "@bufbuild/protobuf";
import { Code, createContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { createHandlerFactory as createConnectGrpcHandlerFactory } from "@connectrpc/connect/protocol-grpc";
import { createHandlerFactory as createConnectGrpcWebHandlerFactory, trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { describe, expect, it } from "vitest";
import { GetUserByIDRequestSchema, UserService } from "../gen/zitadel/user/v2/user_service_pb.js";
import { createGrpcHandlerFactory, createGrpcWebHandlerFactory } from "../src/rpc/fast-path/grpc-unary.js";
import { envelope } from "./support/fuzz-frames.js";
import { CALL_REPORT } from "../src/rpc/call-report.js";
import { readConnectEsAnswers } from "../src/rpc/connect-es-answers.js";
import { idMessage, method, OPTIONS, spec } from "./support/unary-method.js";

const PROTOCOLS = [
  { name: "gRPC", ours: createGrpcHandlerFactory, connectEs: createConnectGrpcHandlerFactory, binary: "application/grpc", json: "application/grpc+json" },
  {
    name: "gRPC-Web",
    ours: createGrpcWebHandlerFactory,
    connectEs: createConnectGrpcWebHandlerFactory,
    binary: "application/grpc-web+proto",
    json: "application/grpc-web+json",
  },
];

const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);

interface Call {
  body: Uint8Array;
  /** Sizes of the chunks the body arrives in (the rest in one); whole by default. */
  chunks?: number[];
  header?: Record<string, string>;
  method?: string;
}

function request({ body, chunks = [], header = {}, method: httpMethod = "POST" }: Call, contentType: string): UniversalServerRequest {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const size of chunks) parts.push(body.subarray(at, (at += size)));
  if (at < body.byteLength) parts.push(body.subarray(at));
  return {
    httpVersion: "2.0",
    method: httpMethod,
    url: `http://localhost/${UserService.typeName}/${method.name}`,
    header: new Headers({ "content-type": contentType, ...header }),
    body: (async function* () {
      yield* parts;
    })(),
    signal: new AbortController().signal,
    // As the edge sets it: an answer the fast path made reports its status, and the stock path's reader leaves it as it is.
    contextValues: createContextValues().set(CALL_REPORT, { address: "", retryAfterS: 0, credentialsFailed: false }),
  };
}

type Handler = UniversalHandler;

/** The answer as comparable data; grpc-status-details-bin is compared as bytes. */
async function answer(handler: Handler, call: Call, contentType: string) {
  const res = await handler(request(call, contentType));
  const chunks: number[] = [];
  if (res.body && Symbol.asyncIterator in res.body) for await (const c of res.body) chunks.push(...c);
  return {
    status: res.status,
    header: [...new Headers(res.header).entries()],
    trailer: [...new Headers(res.trailer).entries()],
    body: chunks,
  };
}

type Answer = Awaited<ReturnType<typeof answer>>;

/** The status trailers: HTTP trailers (gRPC) or the body's trailer envelope (gRPC-Web). */
function statusTrailers(a: Answer): Headers {
  if (a.trailer.length > 0) return new Headers(a.trailer);
  const body = Uint8Array.from(a.body);
  for (let at = 0; at + 5 <= body.byteLength; ) {
    const length = new DataView(body.buffer, at + 1, 4).getUint32(0);
    if (body[at]! & trailerFlag) return trailerParse(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return new Headers();
}

const grpcStatus = (a: Answer) => statusTrailers(a).get("grpc-status");

describe.each(PROTOCOLS)("$name unary handler, compared with Connect-ES's", (protocol) => {
  const ours = readConnectEsAnswers(protocol.ours(OPTIONS)(spec));
  const connectEs = readConnectEsAnswers(protocol.connectEs(OPTIONS)(spec));

  async function expectSameAnswer(call: Call) {
    const contentType = call.header?.["content-type"] ?? protocol.binary;
    const expected = await answer(connectEs, call, contentType);
    expect(await answer(ours, call, contentType)).toEqual(expected);
    return expected;
  }

  it("answers a call in one envelope with the implementation's and interceptors' headers and trailers", async () => {
    const a = await expectSameAnswer({ body: envelope(idMessage("u1")) });
    expect(grpcStatus(a)).toBe("0");
    expect(a.header).toContainEqual(["x-interceptor", "seen"]);
    expect(a.body.length).toBeGreaterThan(5);
  });

  it("gives the interceptors and the implementation the same request and context, with or without a deadline", async () => {
    const body = envelope(idMessage("u12"));
    const headers: Record<string, string>[] = [{ "x-custom": "yes" }, { "x-custom": "timed", "grpc-timeout": "5S" }];
    for (const header of headers) {
      const a = await expectSameAnswer({ body, header });
      const context = new Headers(a.header).get("x-context")!;
      expect(context).toContain(`${header["x-custom"]} interceptor ${"grpc-timeout" in header ? "ahead" : "none"} false`);
      expect(new Headers(a.header).get("x-interceptor-request")).toBe(
        `false GetUserByID zitadel.user.v2.UserService POST http://localhost/zitadel.user.v2.UserService/GetUserByID ${header["x-custom"]} false`,
      );
    }
  });

  it("gives the implementation the request an interceptor passed on in place of the call's", async () => {
    const a = await expectSameAnswer({ body: envelope(idMessage("u13")), header: { "x-custom": "yes", "x-replace": "1", "grpc-timeout": "5S" } });
    expect(grpcStatus(a)).toBe("0");
    expect(new Headers(a.header).get("x-context")).toContain("replaced replacement ahead false");
  });

  it("aborts the implementation's signal at the deadline, with DeadlineExceeded", async () => {
    const a = await expectSameAnswer({ body: envelope(idMessage("wait")), header: { "grpc-timeout": "30m" } });
    expect(grpcStatus(a)).toBe(String(Code.DeadlineExceeded));
  });

  it("reads a message that arrives one byte at a time, or split inside its header", async () => {
    const body = envelope(idMessage("u2"));
    await expectSameAnswer({ body, chunks: Array.from({ length: body.byteLength }, () => 1) });
    await expectSameAnswer({ body, chunks: [3, 4] });
  });

  it("answers over gRPC+JSON", async () => {
    const json = new TextEncoder().encode(toJsonString(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId: "u3" })));
    const a = await expectSameAnswer({ body: envelope(json), header: { "content-type": protocol.json } });
    expect(grpcStatus(a)).toBe("0");
  });

  it("puts a ConnectError's code, message and metadata in the trailers, and hides a plain error", async () => {
    const missing = await expectSameAnswer({ body: envelope(idMessage("missing")) });
    expect(grpcStatus(missing)).toBe(String(Code.NotFound));
    expect(statusTrailers(missing).get("x-error-meta")).toBe("1");
    const boom = await expectSameAnswer({ body: envelope(idMessage("boom")) });
    expect(grpcStatus(boom)).toBe(String(Code.Internal));
    expect(JSON.stringify(boom)).not.toContain("not for the client");
  });

  it.each([
    ["no message", new Uint8Array(0), Code.Unimplemented],
    ["a header cut short", new Uint8Array([0, 0, 0]), Code.InvalidArgument],
    ["a message cut short", envelope(idMessage("u4")).subarray(0, 7), Code.InvalidArgument],
    ["a second message", concat(envelope(idMessage("u5")), envelope(idMessage("u6"))), Code.Unimplemented],
    ["a second message cut short", concat(envelope(idMessage("u5")), new Uint8Array([0, 0])), Code.InvalidArgument],
    ["a length over readMaxBytes", envelope(new Uint8Array(65)), Code.ResourceExhausted],
    ["a second length over readMaxBytes", concat(envelope(idMessage("u7")), envelope(new Uint8Array(65))), Code.ResourceExhausted],
    ["bytes that are not the message", envelope(new Uint8Array([0xff, 0xff, 0xff])), Code.InvalidArgument],
    ["the compressed flag without grpc-encoding", envelope(idMessage("u8"), 1), Code.InvalidArgument],
  ])("refuses %s with the same status", async (_, body, code) => {
    const a = await expectSameAnswer({ body, chunks: [2] });
    expect(grpcStatus(a)).toBe(String(code));
  });

  it("reads a gzip-compressed message", async () => {
    const body = envelope(gzipSync(idMessage("u11")), 1);
    expect(grpcStatus(await expectSameAnswer({ body, header: { "grpc-encoding": "gzip" } }))).toBe("0");
  });

  it("refuses an unknown grpc-encoding and a malformed grpc-timeout with the same status", async () => {
    const body = envelope(idMessage("u9"));
    expect(grpcStatus(await expectSameAnswer({ body, header: { "grpc-encoding": "zstd" } }))).toBe(String(Code.Unimplemented));
    expect(grpcStatus(await expectSameAnswer({ body, header: { "grpc-timeout": "soon" } }))).toBe(String(Code.InvalidArgument));
  });

  it("refuses another HTTP method and another content type the same way", async () => {
    const body = envelope(idMessage("u10"));
    expect((await expectSameAnswer({ body, method: "GET" })).status).toBe(405);
    expect((await expectSameAnswer({ body, header: { "content-type": `${protocol.binary}+xml` } })).status).toBe(415);
  });

  it("passes over request envelopes flagged as trailers where Connect-ES does, and refuses them compressed alike", async () => {
    const trailer = envelope(new TextEncoder().encode("x-client: 1\r\n"), trailerFlag);
    const message = envelope(idMessage("u12"));
    await expectSameAnswer({ body: concat(trailer, message) });
    await expectSameAnswer({ body: concat(message, trailer) });
    await expectSameAnswer({ body: concat(message, envelope(new Uint8Array([1]), trailerFlag | 1)) });
  });

  it("parses a second message before refusing it, as Connect-ES does", async () => {
    await expectSameAnswer({ body: concat(envelope(idMessage("u13")), envelope(new Uint8Array([0xff, 0xff]))) });
  });
});
