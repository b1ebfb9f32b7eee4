/**
 * The frames of a server stream as the fast path writes them (src/rpc/fast-path/server-stream.ts),
 * read off the wire where test/watch.test.ts's Connect-ES clients would hide them: Connect JSON
 * ends with the end-stream frame carrying the error and its WatchEnded detail, and a client that
 * goes away mid-stream is noticed: its call is logged as cancelled and the server goes on serving
 * watchers. (gRPC-Web text's streams: test/grpc-web-text.test.ts, on both RPC paths.)
 */
import { fromBinary } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { UserRecordService, WatchEndedSchema } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman } from "./support/fixtures.js";
import { FrameReader } from "./support/frame-reader.js";
import { envelope } from "./support/fuzz-frames.js";
import { startServer, type TestServer } from "./support/server.js";

const WATCH = "/zus.user.v1.UserRecordService/WatchUserEvents";
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ env: { WATCH_HEARTBEAT_MS: "300" } });
});
afterAll(() => server?.stop());

function watch(contentType: string, body: string | Uint8Array, signal?: AbortSignal, on = server) {
  return fetch(`${on.baseUrl}${WATCH}`, {
    method: "POST",
    headers: { "content-type": contentType, authorization: `Bearer ${on.adminToken}` },
    body: typeof body === "string" ? body : new Uint8Array(body),
    signal,
  });
}

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
