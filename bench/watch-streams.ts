/**
 * WatchUserEvents streams for the watchers scenario's clients (bench/load-watchers.ts), opened
 * with node:http2 (gRPC, binary) and node:http (Connect, JSON over HTTP/1.1) directly, as
 * bench/load-grpc.ts sends its calls: the scenario measures what the watchers cost the server,
 * and Connect-ES's client pipeline cost the load's core more per message than the server spent
 * on it (bench/FINDINGS.md, round "2026-12-06, watchers in pairs").
 *
 * Each message is decoded as a client must (protobuf-es's fromBinary for gRPC, JSON.parse for
 * Connect), so a frame the server got wrong fails the scenario as it would fail an application.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Agent, request as httpRequest } from "node:http";
import { type ClientHttp2Session } from "node:http2";
import { WatchUserEventsRequestSchema, WatchUserEventsResponseSchema } from "../gen/zus/user/v1/user_record_service_pb.js";

const PATH = "/zus.user.v1.UserRecordService/WatchUserEvents";
const ENVELOPE = 5;
/** Connect's end-of-stream frame (its error, if any, and trailers as JSON). */
const END_STREAM = 0x02;

export interface WatchRequest {
  userId?: string;
  organizationId?: string;
}

/** What a stream hands its watcher. */
export interface WatchHandlers {
  /** An event: its user and sequence. */
  event(userId: string, sequence: number): void;
  heartbeat(): void;
  /** The stream ended: "ok", or the status code's name and message it ended with. */
  end(code: string, message: string): void;
}

/** A started stream; `close` ends it from this side without calling `end`. */
export interface WatchStream {
  close(): void;
}

/** One 5-byte envelope a message, as all three protocols frame them. */
function envelope(flags: number, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(ENVELOPE + data.byteLength);
  buf[0] = flags;
  buf.writeUInt32BE(data.byteLength, 1);
  buf.set(data, ENVELOPE);
  return buf;
}

/** Splits a byte stream into envelopes, whatever the chunks' boundaries. */
function envelopes(onFrame: (flags: number, data: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    let buf: Buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (buf.length >= ENVELOPE) {
      const size = buf.readUInt32BE(1);
      if (buf.length < ENVELOPE + size) break;
      onFrame(buf[0]!, buf.subarray(ENVELOPE, ENVELOPE + size));
      buf = buf.subarray(ENVELOPE + size);
    }
    pending = buf;
  };
}

/** A watch over gRPC on `session` (one HTTP/2 connection carries many). */
export function watchGrpc(session: ClientHttp2Session, token: string, request: WatchRequest, on: WatchHandlers): WatchStream {
  const stream = session.request({
    ":method": "POST",
    ":path": PATH,
    "content-type": "application/grpc+proto",
    te: "trailers",
    authorization: `Bearer ${token}`,
  });
  let done = false;
  const finish = (code: string, message: string) => {
    if (done) return;
    done = true;
    on.end(code, message);
  };
  stream.on(
    "data",
    envelopes((_flags, data) => {
      const message = fromBinary(WatchUserEventsResponseSchema, data);
      if (message.kind.case === "event") on.event(message.kind.value.userId, Number(message.kind.value.sequence));
      else on.heartbeat();
    }),
  );
  let status: { code: string; message: string } | undefined;
  const statusOf = (headers: Record<string, unknown>) => {
    if (headers["grpc-status"] === undefined) return;
    const code = Number(headers["grpc-status"]);
    status = { code: code === 0 ? "ok" : (Code[code] ?? "unknown"), message: decodeURIComponent(String(headers["grpc-message"] ?? "")) };
  };
  stream.on("response", statusOf);
  stream.on("trailers", statusOf);
  stream.on("end", () => finish(status?.code ?? "unknown", status?.message ?? "no grpc-status"));
  stream.on("error", (err) => finish("unavailable", err.message));
  stream.end(envelope(0, toBinary(WatchUserEventsRequestSchema, create(WatchUserEventsRequestSchema, request))));
  return {
    close() {
      done = true;
      stream.close();
    },
  };
}

/** Connections for Connect's watchers: one a stream, kept as long as the stream. */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

/** A watch over Connect with JSON on HTTP/1.1 (its own connection). */
export function watchConnect(baseUrl: string, token: string, request: WatchRequest, on: WatchHandlers): WatchStream {
  let done = false;
  const finish = (code: string, message: string) => {
    if (done) return;
    done = true;
    on.end(code, message);
  };
  const body = envelope(0, Buffer.from(JSON.stringify(request)));
  const req = httpRequest(`${baseUrl}${PATH}`, {
    method: "POST",
    agent,
    headers: {
      "content-type": "application/connect+json",
      "connect-protocol-version": "1",
      authorization: `Bearer ${token}`,
      "content-length": body.length,
    },
  });
  req.on("response", (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      return finish(`http_${res.statusCode}`, "");
    }
    res.on(
      "data",
      envelopes((flags, data) => {
        const message = JSON.parse(data.toString("utf8"));
        if (flags & END_STREAM) return finish(message.error?.code ?? "ok", message.error?.message ?? "the server ended the stream");
        if (message.event) on.event(message.event.userId, Number(message.event.sequence ?? 0));
        else on.heartbeat();
      }),
    );
    res.on("end", () => finish("unknown", "the stream ended without its end frame"));
    res.on("error", (err) => finish("unavailable", err.message));
  });
  req.on("error", (err) => finish("unavailable", err.message));
  req.end(body);
  return {
    close() {
      done = true;
      req.destroy();
    },
  };
}
