/**
 * gRPC-Web's text mode (`application/grpc-web-text`), which Connect-ES does not serve:
 * the same frames as `application/grpc-web+proto`, base64 encoded. Requests are decoded
 * as they stream in (so the body limit still applies) and handed to the binary handler;
 * the response is encoded back: a unary answer whole, a stream chunk by chunk as it is sent (the
 * frames each holds, padded), so that every message arrives when it is sent.
 */
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { CallHandler, CallRequest } from "./universal-request.js";
import { once, readAll } from "../rpc/byte-streams.js";
import { isStreamAnswer, wrapStream, type StreamSink } from "../rpc/stream-answer.js";

const TEXT_TYPE = /^application\/grpc-web-text(\+proto)?(;|$)/i;

export const isGrpcWebText = (contentType: string | null) => contentType !== null && TEXT_TYPE.test(contentType);

/** Decodes `req` in place (a copy would lose its signal, see CallRequest) and answers in text. */
export async function serveGrpcWebText(handler: CallHandler & Pick<UniversalHandler, "method">, req: CallRequest): Promise<UniversalServerResponse> {
  const header = new Headers(req.header);
  header.set("content-type", "application/grpc-web+proto");
  req.header = header;
  req.body = decodeBase64Stream(req.body);
  const res = await handler(req);
  if (isStreamAnswer(res)) return wrapStream(res, textSink);
  const body = res.body ?? once(new Uint8Array());
  // Connect-ES's stream answers (the stock path's) chunk by chunk, as their messages come.
  if (handler.method.methodKind !== "unary") return { ...res, header: textHeader(res.header), body: base64Chunks(body) };
  const bytes = await readAll(body);
  return { ...res, header: textHeader(res.header), body: once(base64(bytes)) };
}

const base64 = (bytes: Uint8Array) => Buffer.from(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"));

async function* base64Chunks(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield base64(chunk);
}

function textHeader(header: HeadersInit | undefined): Headers {
  const text = new Headers(header);
  text.set("content-type", "application/grpc-web-text+proto");
  text.delete("content-length");
  return text;
}

const textSink = (sink: StreamSink): StreamSink => ({
  head: (status, header) => sink.head(status, textHeader(header)),
  write: (bytes) => sink.write(base64(bytes)),
  drained: () => sink.drained(),
  end: (trailer) => sink.end(trailer),
  get closed() {
    return sink.closed;
  },
});

/** Each frame may be encoded on its own, so padding can appear mid-stream: decode per run. */
async function* decodeBase64Stream(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const text = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += text.decode(chunk, { stream: true }).replace(/\s/g, "");
    const whole = pending.length - (pending.length % 4);
    if (whole > 0) yield decodeRuns(pending.slice(0, whole));
    pending = pending.slice(whole);
  }
  if (pending) yield decodeRuns(pending);
}

function decodeRuns(base64: string): Uint8Array {
  return Buffer.concat(base64.split(/(?<==)(?=[^=])/).map((run) => Buffer.from(run, "base64")));
}
