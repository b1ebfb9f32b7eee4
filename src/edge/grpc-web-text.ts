/**
 * gRPC-Web's text mode (`application/grpc-web-text`), which Connect-ES does not serve:
 * the same frames as `application/grpc-web+proto`, base64 encoded. Requests are decoded
 * as they stream in (so the body limit still applies) and handed to the binary handler;
 * the response is encoded back.
 */
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { CallHandler, CallRequest } from "./universal-request.js";
import { once, readAll } from "../rpc/byte-streams.js";

const TEXT_TYPE = /^application\/grpc-web-text(\+proto)?(;|$)/i;

export const isGrpcWebText = (contentType: string | null) => contentType !== null && TEXT_TYPE.test(contentType);

/** Decodes `req` in place (a copy would lose its signal, see CallRequest) and answers in text. */
export async function serveGrpcWebText(handler: CallHandler, req: CallRequest): Promise<UniversalServerResponse> {
  const header = new Headers(req.header);
  header.set("content-type", "application/grpc-web+proto");
  req.header = header;
  req.body = decodeBase64Stream(req.body);
  const res = await handler(req);
  const bytes = await readAll(res.body ?? once(new Uint8Array()));
  const responseHeader = new Headers(res.header);
  responseHeader.set("content-type", "application/grpc-web-text+proto");
  responseHeader.delete("content-length");
  return { ...res, header: responseHeader, body: once(Buffer.from(bytes.toString("base64"))) };
}

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
