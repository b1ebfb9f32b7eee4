/** gRPC-Web text mode (base64 frames), as browsers' grpc-web clients send it by default; a stream's messages as they are sent. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { GetUserByIDResponseSchema, LockUserRequestSchema } from "../gen/zitadel/user/v2/user_service_pb.js";
import { WatchUserEventsRequestSchema, WatchUserEventsResponseSchema } from "../gen/zus/user/v1/user_record_service_pb.js";
import { userClient } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { FrameReader } from "./support/frame-reader.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  // Heartbeats soon: a watch's first message is one.
  server = await startServer({ env: { WATCH_HEARTBEAT_MS: "300" } });
});
afterAll(() => server?.stop());

function frame(flags: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Splits a decoded gRPC-Web body into its data frames and its trailer frame. */
function parseFrames(body: Buffer) {
  const frames: { flags: number; payload: Buffer }[] = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at + 1);
    frames.push({ flags: body[at]!, payload: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return frames;
}

async function callText(method: string, userId: string) {
  const message = toBinary(LockUserRequestSchema, create(LockUserRequestSchema, { userId }));
  const res = await fetch(`${server.baseUrl}/zitadel.user.v2.UserService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text", authorization: `Bearer ${server.adminToken}` },
    body: frame(0, message).toString("base64"),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/grpc-web-text+proto");
  return parseFrames(Buffer.from(await res.text(), "base64"));
}

it("serves unary calls with base64 frames", async () => {
  const userId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
  const frames = await callText("GetUserByID", userId);
  expect(frames.map((f) => f.flags)).toEqual([0, 0x80]);
  const user = fromBinary(GetUserByIDResponseSchema, frames[0]!.payload).user!;
  expect(user.userId).toBe(userId);
  expect(user.state).toBe(UserState.ACTIVE);
  expect(frames[1]!.payload.toString()).toMatch(/grpc-status: ?0/);
});

it("answers errors in the trailer frame", async () => {
  const userId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
  await callText("LockUser", userId);
  const frames = await callText("LockUser", userId);
  const trailer = frames.find((f) => f.flags === 0x80)!.payload.toString();
  expect(trailer).toMatch(/grpc-status: ?9/);
  expect(decodeURIComponent(trailer)).toContain("COMMAND-lgws8wtsqf");
});

it("accepts frames encoded one by one, with padding between them", async () => {
  const userId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
  const message = toBinary(LockUserRequestSchema, create(LockUserRequestSchema, { userId }));
  const framed = frame(0, message);
  // Split so that the first part needs padding, as a streaming client would encode it.
  const body = framed.subarray(0, 4).toString("base64") + framed.subarray(4).toString("base64");
  expect(body.slice(0, 8)).toMatch(/=/);
  const res = await fetch(`${server.baseUrl}/zitadel.user.v2.UserService/GetUserByID`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text", authorization: `Bearer ${server.adminToken}` },
    body,
  });
  const frames = parseFrames(Buffer.from(await res.text(), "base64"));
  expect(fromBinary(GetUserByIDResponseSchema, frames[0]!.payload).user!.userId).toBe(userId);
});

it("answers a malformed protobuf frame with InvalidArgument", async () => {
  const truncated = Buffer.from([0x0a, 0x05, 0x61]);
  const res = await fetch(`${server.baseUrl}/zitadel.user.v2.UserService/LockUser`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text", authorization: `Bearer ${server.adminToken}` },
    body: frame(0, truncated).toString("base64"),
  });
  const trailer = parseFrames(Buffer.from(await res.text(), "base64")).find((f) => f.flags === 0x80)!;
  expect(trailer.payload.toString()).toMatch(/grpc-status: ?3/);
  expect(decodeURIComponent(trailer.payload.toString())).toContain("invalid LockUserRequest: malformed protobuf");
});

it("streams each message base64-encoded as it is sent, long before the stream ends", async () => {
  const users = userClient("connect-json", server.baseUrl, server.adminToken);
  const userId = await addHuman(users);
  const abort = new AbortController();
  const request = toBinary(WatchUserEventsRequestSchema, create(WatchUserEventsRequestSchema, { userId }));
  const res = await fetch(`${server.baseUrl}/zus.user.v1.UserRecordService/WatchUserEvents`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text", authorization: `Bearer ${server.adminToken}` },
    body: frame(0, request).toString("base64"),
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/grpc-web-text+proto");
  const frames = new FrameReader(res, true);
  const heartbeat = fromBinary(WatchUserEventsResponseSchema, (await frames.next())!.payload);
  expect(heartbeat.kind.case).toBe("heartbeat");

  await users.lockUser({ userId });
  for (;;) {
    const next = (await frames.next())!;
    expect(next.flags).toBe(0);
    const message = fromBinary(WatchUserEventsResponseSchema, next.payload);
    if (message.kind.case !== "event") continue;
    expect(message.kind.value.type).toBe("user.locked");
    expect(message.kind.value.userId).toBe(userId);
    break;
  }
  abort.abort();
});
