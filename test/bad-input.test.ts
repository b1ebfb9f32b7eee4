/**
 * SPEC §5 bad inputs on every protocol, sent as raw bytes so each answer can be checked in
 * its protocol's own shape: gRPC (h2c) and gRPC-Web carry grpc-status/grpc-message, Connect
 * an HTTP status and a JSON body {code, message}. Afterwards the targeted user is unchanged.
 */
import http from "node:http";
import http2 from "node:http2";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { UserService } from "../gen/zitadel/user/v2/user_service_pb.js";
import { userClient, type UserClient } from "./support/clients.js";
import { addHuman, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
/** ACTIVE user (created with a password) that every bad call below aims at. */
let targetId: string;

beforeAll(async () => {
  server = await startServer();
  targetId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken), { password: true });
});
afterAll(() => server?.stop());

const LOCK_PATH = "/zitadel.user.v2.UserService/LockUser";
const LENGTH_MESSAGE = "invalid LockUserRequest.UserId: value length must be between 1 and 200 runes, inclusive";
const TWO_MIB = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Raw protocol plumbing
// ---------------------------------------------------------------------------------------

type Wire = "grpc" | "grpc-web" | "connect";
type Codec = "proto" | "json";

/** What any protocol answered, normalised: the code as Connect's lowercase name. */
interface Answer {
  httpStatus: number;
  code: string | undefined;
  message: string | undefined;
  /** The raw response, for shape checks. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const CODE_NAMES: Record<number, string> = {
  0: "ok",
  1: "canceled",
  2: "unknown",
  3: "invalid_argument",
  4: "deadline_exceeded",
  5: "not_found",
  6: "already_exists",
  7: "permission_denied",
  8: "resource_exhausted",
  9: "failed_precondition",
  10: "aborted",
  11: "out_of_range",
  12: "unimplemented",
  13: "internal",
  14: "unavailable",
  15: "data_loss",
  16: "unauthenticated",
};

function envelope(payload: Uint8Array, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, Buffer.from(payload)]);
}

function parseEnvelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const frames: { flags: number; data: Buffer }[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const flags = body.readUInt8(at);
    const length = body.readUInt32BE(at + 1);
    frames.push({ flags, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  expect(at, "response body must consist of whole envelopes").toBe(body.length);
  return frames;
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const grpcMessage = (raw: string | undefined) => (raw === undefined ? undefined : decodeURIComponent(raw));

/** HTTP/1.1 POST that tolerates the server answering before it has read the whole body. */
function http1Post(port: number, path: string, headers: Record<string, string>, body: Uint8Array) {
  // Keep-alive, as browsers send: a client that asks to close the connection may have it
  // closed under its still-running upload once answered, and lose the answer to the reset.
  const agent = new http.Agent({ keepAlive: true });
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: "127.0.0.1", port, path, method: "POST", agent, headers: { ...headers, "content-length": String(body.length) } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    req.end(Buffer.from(body));
  }).finally(() => agent.destroy());
}

/** gRPC over h2c (prior knowledge): returns the response headers, body and trailers. */
function h2Post(port: number, path: string, headers: Record<string, string>, body: Uint8Array) {
  return new Promise<{
    status: number;
    headers: http2.IncomingHttpHeaders;
    trailers: http2.IncomingHttpHeaders;
    body: Buffer;
  }>((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let responseHeaders: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", (err) => {
      if (!responseHeaders) reject(err);
    });
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      session.close();
      if (!responseHeaders) return reject(new Error(`stream closed without a response (rst code ${stream.rstCode})`));
      resolve({ status: Number(responseHeaders[":status"]), headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    };
    // Like a real gRPC client: once the server has ended its side (trailers sent), the call is
    // over, even if the server stopped reading the request (it may answer an oversized body early).
    stream.on("end", () => {
      settle();
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.on("close", settle);
    stream.end(Buffer.from(body));
  });
}

/**
 * Sends `message` (already encoded in `codec`) to LockUser over `wire`, framing it as the
 * protocol requires, and decodes the answer in that protocol's own shape.
 */
async function send(wire: Wire, codec: Codec, message: Uint8Array, method = LOCK_PATH): Promise<Answer> {
  const auth = { authorization: `Bearer ${server.adminToken}` };
  switch (wire) {
    case "grpc": {
      const res = await h2Post(
        server.port,
        method,
        { ...auth, "content-type": `application/grpc+${codec}`, te: "trailers" },
        envelope(message),
      );
      // gRPC: always HTTP 200; the status is in the trailers (or in the headers for a trailers-only answer).
      expect(res.status).toBe(200);
      expect(first(res.headers["content-type"])).toMatch(/^application\/grpc/);
      const status = first(res.trailers["grpc-status"]) ?? first(res.headers["grpc-status"]);
      const msg = first(res.trailers["grpc-message"]) ?? first(res.headers["grpc-message"]);
      expect(status, "gRPC answer must carry grpc-status").toBeDefined();
      return {
        httpStatus: res.status,
        code: CODE_NAMES[Number(status)],
        message: grpcMessage(msg),
        headers: { ...res.headers, ...res.trailers },
        body: res.body,
      };
    }
    case "grpc-web": {
      const res = await http1Post(
        server.port,
        method,
        { ...auth, "content-type": `application/grpc-web+${codec}`, "x-grpc-web": "1" },
        envelope(message),
      );
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^application\/grpc-web/);
      let status = first(res.headers["grpc-status"]);
      let msg = first(res.headers["grpc-message"]);
      const trailerFrame = parseEnvelopes(res.body).find((f) => (f.flags & 0x80) === 0x80);
      if (trailerFrame) {
        for (const line of trailerFrame.data.toString("utf8").split("\r\n")) {
          const colon = line.indexOf(":");
          if (colon < 0) continue;
          const key = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          if (key === "grpc-status") status = value;
          if (key === "grpc-message") msg = value;
        }
      }
      expect(status, "gRPC-Web answer must carry grpc-status in headers or the trailer frame").toBeDefined();
      return { httpStatus: res.status, code: CODE_NAMES[Number(status)], message: grpcMessage(msg), headers: res.headers, body: res.body };
    }
    case "connect": {
      const res = await http1Post(
        server.port,
        method,
        { ...auth, "content-type": codec === "json" ? "application/json" : "application/proto", "connect-protocol-version": "1" },
        message,
      );
      if (res.status === 200) return { httpStatus: 200, code: "ok", message: undefined, headers: res.headers, body: res.body };
      // Connect unary error: JSON body {code, message} whatever the request's codec.
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      const error = JSON.parse(res.body.toString("utf8")) as { code: string; message?: string };
      return { httpStatus: res.status, code: error.code, message: error.message, headers: res.headers, body: res.body };
    }
  }
}

/** Connect's HTTP status for each code (the Connect protocol's mapping). */
const CONNECT_HTTP: Record<string, number> = {
  invalid_argument: 400,
  not_found: 404,
  resource_exhausted: 429,
};

function expectError(wire: Wire, answer: Answer, code: string, message?: string | RegExp) {
  expect(answer.code, `answer: ${answer.message}`).toBe(code);
  if (wire === "connect") expect(answer.httpStatus).toBe(CONNECT_HTTP[code]);
  else expect(answer.httpStatus).toBe(200);
  if (typeof message === "string") expect(answer.message).toBe(message);
  else if (message) expect(answer.message).toMatch(message);
  // Never a stack trace or SQL in what a client sees.
  expect(answer.message ?? "").not.toMatch(/\n\s+at |SQLITE|SELECT |node_modules/);
}

// ---------------------------------------------------------------------------------------
// Encoders
// ---------------------------------------------------------------------------------------

const encoder = new TextEncoder();

function lockProto(userId: string, extra?: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(userId);
  extra?.(w);
  return w.finish();
}

function lockMessage(codec: Codec, userId: string): Uint8Array {
  return codec === "json" ? encoder.encode(JSON.stringify({ userId })) : lockProto(userId);
}

const VARIANTS: [Wire, Codec][] = [
  ["grpc", "proto"],
  ["grpc-web", "proto"],
  ["connect", "proto"],
  ["grpc", "json"],
  ["grpc-web", "json"],
  ["connect", "json"],
];
const PROTO_VARIANTS = VARIANTS.filter(([, codec]) => codec === "proto");
const JSON_VARIANTS = VARIANTS.filter(([, codec]) => codec === "json");

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

describe.each(VARIANTS)("raw %s (%s)", (wire, codec) => {
  it("refuses an empty user_id with the length message", async () => {
    expectError(wire, await send(wire, codec, lockMessage(codec, "")), "invalid_argument", LENGTH_MESSAGE);
  });

  it("refuses a 201-character user_id with the length message", async () => {
    expectError(wire, await send(wire, codec, lockMessage(codec, "1".repeat(201))), "invalid_argument", LENGTH_MESSAGE);
    expectError(wire, await send(wire, codec, lockMessage(codec, "ä".repeat(201))), "invalid_argument", LENGTH_MESSAGE);
  });

  it("lets 200 characters (also 200 multi-byte runes) pass validation to NotFound", async () => {
    for (const userId of ["1".repeat(200), "ä".repeat(200)]) {
      expectError(wire, await send(wire, codec, lockMessage(codec, userId)), "not_found", "User could not be found (COMMAND-450yxuqrh1)");
    }
  });

  it("answers a body over the limit (2 MiB) with ResourceExhausted", async () => {
    const big = "a".repeat(TWO_MIB);
    const message = codec === "json" ? encoder.encode(JSON.stringify({ userId: targetId, pad: big })) : lockProto(targetId, (w) => w.tag(2, WireType.LengthDelimited).string(big));
    expect(message.length).toBeGreaterThan(TWO_MIB);
    expectError(wire, await send(wire, codec, message), "resource_exhausted");
  });
});

describe.each(PROTO_VARIANTS)("raw %s (%s) binary body", (wire, codec) => {
  it("refuses an unknown binary field, naming field 99", async () => {
    const message = lockProto(targetId, (w) => w.tag(99, WireType.Varint).int32(1));
    const answer = await send(wire, codec, message);
    expectError(wire, answer, "invalid_argument", /\b99\b/);
  });

  it("refuses an unknown length-delimited field too", async () => {
    const message = lockProto(targetId, (w) => w.tag(1234, WireType.LengthDelimited).string("sneaky"));
    expectError(wire, await send(wire, codec, message), "invalid_argument", /\b1234\b/);
  });

  it("refuses a malformed protobuf body with InvalidArgument", async () => {
    // Field 1, length-delimited, claims 16 bytes but carries one.
    const truncated = Uint8Array.from([0x0a, 0x10, 0x41]);
    expectError(wire, await send(wire, codec, truncated), "invalid_argument");
    // Wire type 7 does not exist.
    const badWireType = Uint8Array.from([0x0f, 0x01]);
    expectError(wire, await send(wire, codec, badWireType), "invalid_argument");
  });
});

describe.each(JSON_VARIANTS)("raw %s (%s) JSON body", (wire, codec) => {
  it("refuses an unknown JSON key, naming it", async () => {
    const body = encoder.encode(JSON.stringify({ userId: targetId, notAFieldAtAll: true }));
    expectError(wire, await send(wire, codec, body), "invalid_argument", /notAFieldAtAll/);
  });

  it("refuses malformed JSON with InvalidArgument", async () => {
    for (const text of [`{"userId": "${targetId}"`, "not json", `{"userId": 42}`]) {
      expectError(wire, await send(wire, codec, encoder.encode(text)), "invalid_argument");
    }
  });

  it("accepts snake_case user_id as well as userId (then NotFound for an unknown user)", async () => {
    const body = encoder.encode(JSON.stringify({ user_id: "123456789012345678" }));
    expectError(wire, await send(wire, codec, body), "not_found", "User could not be found (COMMAND-450yxuqrh1)");
  });
});

describe("raw framing and content types", () => {
  it("answers a wrong content type on the Connect path with a 4xx, not a crash", async () => {
    for (const contentType of ["text/plain", "application/xml", "application/octet-stream"]) {
      const res = await http1Post(
        server.port,
        LOCK_PATH,
        { authorization: `Bearer ${server.adminToken}`, "content-type": contentType },
        encoder.encode(JSON.stringify({ userId: targetId })),
      );
      expect(res.status, contentType).toBeGreaterThanOrEqual(400);
      expect(res.status, contentType).toBeLessThan(500);
    }
  });

  it("answers a Connect call without content-type (415) and a GET on a POST path (405, with Allow) in Connect's error shape", async () => {
    const auth = { authorization: `Bearer ${server.adminToken}` };
    const untyped = await fetch(`${server.baseUrl}${LOCK_PATH}`, { method: "POST", headers: auth, body: encoder.encode(JSON.stringify({ userId: targetId })) });
    expect(untyped.status).toBe(415);
    expect(await untyped.json()).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("without content-type is not supported") });
    const get = await fetch(`${server.baseUrl}${LOCK_PATH}`, { headers: auth });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await get.json()).toMatchObject({ code: "unimplemented", message: expect.stringContaining("HTTP method GET is not supported") });
  });

  it("answers a wrong content type over h2c with a 4xx too", async () => {
    const res = await h2Post(
      server.port,
      LOCK_PATH,
      { authorization: `Bearer ${server.adminToken}`, "content-type": "text/plain" },
      encoder.encode(JSON.stringify({ userId: targetId })),
    );
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it("refuses a gRPC envelope that declares more bytes than the limit without waiting for them", async () => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(TWO_MIB, 1);
    const res = await h2Post(
      server.port,
      LOCK_PATH,
      { authorization: `Bearer ${server.adminToken}`, "content-type": "application/grpc", te: "trailers" },
      head,
    );
    expect(res.status).toBe(200);
    expect(first(res.trailers["grpc-status"]) ?? first(res.headers["grpc-status"])).toBe(String(Code.ResourceExhausted));
  });
});

/** A Connect transport with the binary codec: the support clients only do Connect JSON. */
function connectBinaryClient(): UserClient {
  return createClient(
    UserService,
    createConnectTransport({
      baseUrl: server.baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: true,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${server.adminToken}`);
          return next(req);
        },
      ],
    }),
  );
}

describe.each(["grpc", "grpc-web", "connect-json", "connect-binary"] as const)("Connect-ES client over %s", (protocol) => {
  const client = () => (protocol === "connect-binary" ? connectBinaryClient() : userClient(protocol, server.baseUrl, server.adminToken));

  it("gets InvalidArgument with the length message for an empty or 201-character user_id", async () => {
    for (const userId of ["", "x".repeat(201), "ä".repeat(201)]) {
      const err = await expectCode(client().lockUser({ userId }), Code.InvalidArgument);
      expect(err.rawMessage).toBe(LENGTH_MESSAGE);
    }
  });

  it("gets NotFound (validation passed) for 200 characters or 200 multi-byte runes", async () => {
    for (const userId of ["x".repeat(200), "ä".repeat(200)]) {
      await expectZitadelError(client().lockUser({ userId }), Code.NotFound, "COMMAND-450yxuqrh1", "User could not be found");
    }
  });
});

// Must stay last: vitest runs a file's tests in order.
describe("inputs the fuzz suite found (test/fuzz.test.ts)", () => {
  const admin = () => userClient("connect-json", server.baseUrl, server.adminToken);
  const restListUsers = (body: string) =>
    fetch(`${server.baseUrl}/v2/users`, { method: "POST", headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" }, body });

  it("refuses more than 100 queries or 1000 ids in ListUsers with InvalidArgument (SQL would exceed SQLite's limits)", async () => {
    const orgQuery = { query: { case: "organizationIdQuery" as const, value: { organizationId: "1" } } };
    const tooMany = await expectCode(admin().listUsers({ queries: Array.from({ length: 101 }, () => orgQuery) }), Code.InvalidArgument);
    expect(tooMany.rawMessage).toBe("invalid ListUsersRequest.Queries: more than 100 queries");
    const ids = Array.from({ length: 1001 }, (_, i) => String(i));
    const tooManyIds = await expectCode(admin().listUsers({ queries: [{ query: { case: "inUserIdsQuery", value: { userIds: ids } } }] }), Code.InvalidArgument);
    expect(tooManyIds.rawMessage).toBe("invalid InUserIDQuery.UserIds: more than 1000 ids");
    await expect(admin().listUsers({ queries: Array.from({ length: 100 }, () => orgQuery) })).resolves.toBeDefined();
  });

  it("answers a REST body nested 2000 levels deep with 400, not a stack overflow", async () => {
    const deep = `{"queries":[${'{"orQuery":{"queries":['.repeat(2000)}${"]}}".repeat(2000)}]}`;
    const res = await restListUsers(deep);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: Code.InvalidArgument, message: "request body nested deeper than 100 levels" });
  });

  /** grpc-status of a raw gRPC call to GetUserByID, from the trailers or a trailers-only answer. */
  async function grpcStatusOf(contentType: string, body: Buffer): Promise<string | undefined> {
    const auth = { "content-type": contentType, authorization: `Bearer ${server.adminToken}` };
    const answer = await h2Post(server.port, "/zitadel.user.v2.UserService/GetUserByID", auth, body);
    return first(answer.trailers["grpc-status"] ?? answer.headers["grpc-status"]);
  }

  it("answers a gRPC message flagged compressed without grpc-encoding with InvalidArgument", async () => {
    expect(await grpcStatusOf("application/grpc", envelope(new Uint8Array(), 1))).toBe(String(Code.InvalidArgument));
  });

  it("answers a JSON key with a lone surrogate over gRPC+JSON instead of leaving the call hanging", async () => {
    expect(await grpcStatusOf("application/grpc+json", envelope(Buffer.from('{"\\udfff":1}')))).toBe(String(Code.InvalidArgument));
  });
});

describe("after all the bad input", () => {
  it("still answers normal calls on every protocol and the targeted user is unchanged", async () => {
    for (const protocol of ["grpc", "grpc-web", "connect-json"] as const) {
      const read = await userClient(protocol, server.baseUrl, server.adminToken).getUserByID({ userId: targetId });
      expect(read.user!.state).toBe(UserState.ACTIVE);
      expect(read.details!.sequence).toBe(1n);
    }
    const read = await connectBinaryClient().getUserByID({ userId: targetId });
    expect(read.user!.state).toBe(UserState.ACTIVE);
    expect(read.details!.sequence).toBe(1n);

    // A normal change still works afterwards (on another user, so the target stays untouched).
    const client = userClient("grpc", server.baseUrl, server.adminToken);
    const other = await addHuman(client, { password: true });
    expect((await client.lockUser({ userId: other })).details!.sequence).toBe(2n);

    // The process is alive and logged no crash.
    expect(server.output()).not.toMatch(/uncaught|unhandled/i);
  });
});
