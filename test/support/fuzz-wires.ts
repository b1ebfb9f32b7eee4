/** How each RPC protocol carries a request: content types, protocol headers, framing. */
import fc from "fast-check";
import { fromBinary, fromJson, type DescMessage } from "@bufbuild/protobuf";
import { envelope } from "./fuzz-frames.js";
import type { HttpRequest } from "./fuzz-http.js";

export type Wire = "connect" | "grpc" | "grpc-web" | "grpc-web-text";
export type Codec = "json" | "proto";

export interface Channel {
  wire: Wire;
  version: "1.1" | "2";
}

/** Every protocol, over each HTTP version its clients use (gRPC-Web text is binary only). */
export const CHANNELS: Record<Codec, Channel[]> = {
  json: [
    { wire: "connect", version: "1.1" },
    { wire: "connect", version: "2" },
    { wire: "grpc", version: "2" },
    { wire: "grpc-web", version: "1.1" },
  ],
  proto: [
    { wire: "connect", version: "1.1" },
    { wire: "connect", version: "2" },
    { wire: "grpc", version: "2" },
    { wire: "grpc-web", version: "2" },
    { wire: "grpc-web-text", version: "1.1" },
  ],
};

const PROTOCOL_HEADERS: Record<Wire, (codec: Codec) => Record<string, string>> = {
  connect: (codec) => ({ "content-type": codec === "json" ? "application/json" : "application/proto", "connect-protocol-version": "1" }),
  grpc: (codec) => ({ "content-type": `application/grpc+${codec}`, te: "trailers" }),
  "grpc-web": (codec) => ({ "content-type": `application/grpc-web+${codec}`, "x-grpc-web": "1" }),
  "grpc-web-text": () => ({ "content-type": "application/grpc-web-text", "x-grpc-web": "1" }),
};

/** The HTTP request for `body`, which is already in the wire's framing (see carry). */
export function rpcRequest(channel: Channel, codec: Codec, path: string, body: Uint8Array, headers: Record<string, string | string[]> = {}): HttpRequest {
  return { version: channel.version, method: "POST", path, headers: { ...PROTOCOL_HEADERS[channel.wire](codec), ...headers }, body };
}

/** A message as the wire carries it: bare on Connect, in an envelope on gRPC and gRPC-Web, base64 too in text mode. */
export function carry(wire: Wire, message: Uint8Array): Buffer {
  if (wire === "connect") return Buffer.from(message);
  const framed = envelope(message);
  return wire === "grpc-web-text" ? Buffer.from(framed.toString("base64")) : framed;
}

/** Whether bytes are a message of this type in the codec, decoded as strictly as the spec asks (unknown JSON keys refused). */
export function decodes(desc: DescMessage, codec: Codec, bytes: Uint8Array): boolean {
  try {
    if (codec === "json") fromJson(desc, JSON.parse(new TextDecoder().decode(bytes)));
    else fromBinary(desc, bytes);
    return true;
  } catch {
    return false;
  }
}

/** Mostly the admin's token, so calls get past authentication; sometimes none or a wrong one. */
export function credentials(adminToken: string): fc.Arbitrary<Record<string, string>> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant({ authorization: `Bearer ${adminToken}` }) },
    { weight: 1, arbitrary: fc.constant({}) },
    // Trimmed: HTTP/2 refuses header values with whitespace at either end, which is not what this tests.
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((token) => ({ authorization: `Bearer ${token.replace(/[^\x21-\x7e]/g, "")}`.trim() })) },
  );
}
