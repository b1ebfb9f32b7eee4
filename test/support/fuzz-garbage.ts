/**
 * Bytes for a raw connection that are barely or not at all HTTP: random bytes, edits of a
 * valid HTTP/1.1 request (raw bytes in the request line included), and the HTTP/2 preface,
 * whole or cut, followed by frames of any type, flags, stream and length.
 */
import fc from "fast-check";
import { mutated, payload, randomBytes, type Payload } from "./fuzz-bytes.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

const http2Frame = fc
  .record({
    type: fc.integer({ min: 0, max: 12 }),
    flags: fc.integer({ min: 0, max: 255 }),
    stream: fc.oneof(fc.constantFrom(0, 1, 3), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
    payload: fc.uint8Array({ maxLength: 64 }),
    lengthDelta: fc.oneof(fc.constant(0), fc.integer({ min: -64, max: 64 })),
  })
  .map(({ type, flags, stream, payload: bytes, lengthDelta }) => {
    const head = Buffer.alloc(9);
    head.writeUIntBE(Math.max(0, bytes.length + lengthDelta), 0, 3);
    head.writeUInt8(type, 3);
    head.writeUInt8(flags, 4);
    head.writeUInt32BE(stream, 5);
    return Buffer.concat([head, bytes]);
  });

/** `validRequest` is a complete HTTP/1.1 request the server would answer normally. */
export function connectionGarbage(validRequest: Buffer): fc.Arbitrary<Payload> {
  return fc
    .oneof(
      randomBytes,
      mutated(fc.constant(validRequest)),
      fc.array(http2Frame, { maxLength: 6 }).map((frames) => Buffer.concat([PREFACE, ...frames])),
      fc.tuple(fc.integer({ min: 1, max: PREFACE.length - 1 }), randomBytes).map(([cut, rest]) => Buffer.concat([PREFACE.subarray(0, cut), rest])),
    )
    .map(payload);
}

const GOAWAY = 7;

/**
 * Whether the server's bytes are HTTP/2 frames that include a GOAWAY. After a connection
 * error Node's http2 sends one but keeps the socket open, even past the client's FIN, until
 * the server's idle timeout (no session event fires that the server could act on).
 */
export function sentGoaway(received: Buffer): boolean {
  for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) {
    if (received[at + 3] === GOAWAY) return true;
  }
  return false;
}

/** The status of an HTTP/1.x answer at the start of what came back, if there is one. */
export function http1Status(received: Buffer): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3}) /.exec(received.subarray(0, 32).toString("latin1"));
  return match ? Number(match[1]) : undefined;
}
