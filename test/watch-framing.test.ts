/**
 * The frames of a server stream as the fast path writes them (src/rpc/fast-path/server-stream.ts),
 * read off the wire where test/watch.test.ts's Connect-ES clients would hide them: gRPC-Web text
 * delivers each message as it is sent (base64 per write), Connect JSON ends with the end-stream
 * frame carrying the error and its WatchEnded detail, and a client that goes away mid-stream is
 * noticed: its call is logged as cancelled and the server goes on serving watchers.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { UserRecordService, WatchEndedSchema, WatchUserEventsRequestSchema, WatchUserEventsResponseSchema } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { envelope } from "./support/fuzz-frames.js";
import { startServer, type TestServer } from "./support/server.js";

const WATCH = "/zus.user.v1.UserRecordService/WatchUserEvents";
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ env: { WATCH_HEARTBEAT_MS: "300" } });
});
afterAll(() => server?.stop());

/** Reads a streamed body frame by frame as it arrives (base64: gRPC-Web text). */
class FrameReader {
  private bytes = Buffer.alloc(0);
  private text = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(
    res: Response,
    private readonly base64 = false,
  ) {
    this.reader = res.body!.getReader();
  }

  /** The next whole frame, or undefined at the body's end. */
  async next(): Promise<{ flags: number; payload: Buffer } | undefined> {
    for (;;) {
      if (this.bytes.length >= 5) {
        const end = 5 + this.bytes.readUInt32BE(1);
        if (this.bytes.length >= end) {
          const found = { flags: this.bytes[0]!, payload: this.bytes.subarray(5, end) };
          this.bytes = this.bytes.subarray(end);
          return found;
        }
      }
      const { done, value } = await this.reader.read();
      if (done) return undefined;
      this.append(value);
    }
  }

  private append(chunk: Uint8Array) {
    if (!this.base64) {
      this.bytes = Buffer.concat([this.bytes, chunk]);
      return;
    }
    // Each write is encoded on its own, padded: decode each padded run apart.
    this.text += Buffer.from(chunk).toString();
    const whole = this.text.length - (this.text.length % 4);
    const runs = this.text.slice(0, whole).split(/(?<==)(?=[^=])/);
    this.text = this.text.slice(whole);
    this.bytes = Buffer.concat([this.bytes, ...runs.map((run) => Buffer.from(run, "base64"))]);
  }
}

function watch(contentType: string, body: string | Uint8Array, signal?: AbortSignal, on = server) {
  return fetch(`${on.baseUrl}${WATCH}`, {
    method: "POST",
    headers: { "content-type": contentType, authorization: `Bearer ${on.adminToken}` },
    body: typeof body === "string" ? body : new Uint8Array(body),
    signal,
  });
}

const request = (init: MessageInitShape<typeof WatchUserEventsRequestSchema>) => toBinary(WatchUserEventsRequestSchema, create(WatchUserEventsRequestSchema, init));

it("gRPC-Web text: each message arrives base64-encoded as it is sent, long before the stream ends", async () => {
  const users = userClient("connect-json", server.baseUrl, server.adminToken);
  const userId = await addHuman(users);
  const abort = new AbortController();
  const res = await watch("application/grpc-web-text", envelope(request({ userId })).toString("base64"), abort.signal);
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

it("Connect JSON: enveloped JSON messages, then the end-stream frame with the error and its WatchEnded detail", async () => {
  const own = await startServer({ env: { WATCH_HEARTBEAT_MS: "300" } });
  try {
    const body = envelope(Buffer.from(JSON.stringify({})));
    const res = await watch("application/connect+json", body, undefined, own);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/connect+json");
    const frames = new FrameReader(res);
    const first = (await frames.next())!;
    expect(first.flags).toBe(0);
    const heartbeat = JSON.parse(first.payload.toString()) as { position: string; heartbeat: object };
    expect(heartbeat).toEqual({ position: expect.stringMatching(/^[A-Za-z0-9_-]+$/), heartbeat: {} });

    const stopped = own.stop("SIGTERM");
    let end = (await frames.next())!;
    while (end.flags === 0) end = (await frames.next())!;
    expect(end.flags).toBe(0x02);
    const { error } = JSON.parse(end.payload.toString()) as { error: { code: string; message: string; details: { type: string; value: string }[] } };
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/resume from the position/);
    expect(error.details.map((d) => d.type)).toEqual(["zus.user.v1.WatchEnded"]);
    const ended = fromBinary(WatchEndedSchema, Buffer.from(error.details[0]!.value, "base64"));
    expect(ended.position).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await frames.next()).toBeUndefined();
    expect(await stopped).toBe(0);
  } finally {
    await own.stop();
  }
});

it("Connect JSON: a request that fails its checks is one end-stream frame naming the field", async () => {
  const res = await watch("application/connect+json", envelope(Buffer.from(JSON.stringify({ position: "nowhere" }))));
  expect(res.status).toBe(200);
  const frames = new FrameReader(res);
  const end = (await frames.next())!;
  expect(end.flags).toBe(0x02);
  expect(JSON.parse(end.payload.toString())).toEqual({
    error: { code: "invalid_argument", message: "invalid WatchUserEventsRequest.Position: not a position this server gave" },
  });
  expect(await frames.next()).toBeUndefined();
});

it.each<Protocol>(["grpc", "connect-json"])("%s: a client that goes away mid-stream is logged as cancelled, and watching goes on", async (protocol) => {
  const records = createClient(UserRecordService, transport(protocol, server.baseUrl, server.adminToken));
  const requestId = `gone-${protocol}`;
  const logged = () => server.output().split("\n").find((line) => line.includes('"msg":"call"') && line.includes(requestId));
  const abort = new AbortController();
  const stream = records.watchUserEvents({}, { signal: abort.signal, headers: { "x-request-id": requestId } })[Symbol.asyncIterator]();
  expect((await stream.next()).value?.kind.case).toBe("heartbeat");
  abort.abort();
  await expect(stream.next()).rejects.toThrow(ConnectError);

  // Logged once the server has seen the client go: the watch ended, its answer closed.
  const deadline = Date.now() + 10_000;
  while (!logged() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(JSON.parse(logged()!)).toMatchObject({ method: "zus.user.v1.UserRecordService/WatchUserEvents", code: "canceled" });

  // A new watcher still gets a new user's events.
  const users = userClient(protocol, server.baseUrl, server.adminToken);
  const userId = await addHuman(users);
  const again = records.watchUserEvents({ userId })[Symbol.asyncIterator]();
  await again.next();
  await users.lockUser({ userId });
  for (let next = await again.next(); ; next = await again.next()) {
    if (next.value?.kind.case !== "event") continue;
    expect(next.value.kind.value.type).toBe("user.locked");
    break;
  }
  await again.return?.();
});
