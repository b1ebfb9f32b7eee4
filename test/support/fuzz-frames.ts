/**
 * gRPC and gRPC-Web envelopes (flags byte, 4-byte big-endian length, message) and the
 * ways a client can get them wrong, plus gRPC-Web text mode's base64 on top.
 */
import fc from "fast-check";

const COMPRESSED_FLAG = 0x01;

export function envelope(message: Uint8Array, flags = 0, declared = message.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([head, message]);
}

export type FrameFault =
  | { kind: "none" }
  /** Reserved bits, the compressed bit without a grpc-encoding to go with it, gRPC-Web's trailer bit. */
  | { kind: "flags"; flags: number }
  /** The prefix promises more or fewer bytes than follow. */
  | { kind: "length"; delta: number }
  | { kind: "truncated"; keep: number }
  | { kind: "trailing"; garbage: Uint8Array }
  /** Several messages on a unary call. */
  | { kind: "repeated"; count: number }
  | { kind: "empty-message" }
  | { kind: "no-frame" };

export const frameFault: fc.Arbitrary<FrameFault> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("flags" as const), flags: fc.oneof(fc.constantFrom(COMPRESSED_FLAG, 0x02, 0x80, 0x81, 0xff), fc.integer({ min: 1, max: 255 })) }),
  fc.record({ kind: fc.constant("length" as const), delta: fc.oneof(fc.integer({ min: -8, max: 64 }), fc.integer({ min: 1, max: 0xffff_ffff })).filter((d) => d !== 0) }),
  fc.record({ kind: fc.constant("truncated" as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant("trailing" as const), garbage: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("repeated" as const), count: fc.integer({ min: 2, max: 4 }) }),
  fc.constant({ kind: "empty-message" as const }),
  fc.constant({ kind: "no-frame" as const }),
);

export function frame(message: Uint8Array, fault: FrameFault): Buffer {
  switch (fault.kind) {
    case "none":
      return envelope(message);
    case "flags":
      return envelope(message, fault.flags);
    case "length":
      return envelope(message, 0, Math.max(0, message.length + fault.delta));
    case "truncated": {
      const whole = envelope(message);
      return whole.subarray(0, fault.keep % whole.length);
    }
    case "trailing":
      return Buffer.concat([envelope(message), fault.garbage]);
    case "repeated":
      return Buffer.concat(Array<Buffer>(fault.count).fill(envelope(message)));
    case "empty-message":
      return envelope(new Uint8Array());
    case "no-frame":
      return Buffer.alloc(0);
  }
}

/** The message inside when the body is exactly one uncompressed frame of the length it declares, else undefined. */
export function soleMessage(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 5 || (body[0]! & COMPRESSED_FLAG) !== 0) return undefined;
  return Buffer.from(body).readUInt32BE(1) === body.length - 5 ? body.subarray(5) : undefined;
}

export type TextFault =
  | { kind: "none" }
  /** Line breaks and spaces, which decoders skip. */
  | { kind: "whitespace"; at: number; text: string }
  /** Each half encoded on its own, so padding appears mid-stream (allowed: frames may be encoded one by one). */
  | { kind: "split"; at: number }
  /** Characters outside the base64 alphabet, or padding taken away. */
  | { kind: "junk"; at: number; text: string }
  | { kind: "random"; text: string };

export const textFault: fc.Arbitrary<TextFault> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("whitespace" as const), at: fc.nat(), text: fc.constantFrom("\r\n", " ", "\t", "\n\n") }),
  fc.record({ kind: fc.constant("split" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("junk" as const), at: fc.nat(), text: fc.constantFrom("!", "*", "-_", "=", "==", "\u00ff", "%", "\u0000") }),
  fc.record({ kind: fc.constant("random" as const), text: fc.string({ maxLength: 64 }) }),
);

/** Whether the text still carries the frame bytes exactly, as gRPC-Web text mode defines it. */
export const keepsFrame = (fault: TextFault) => fault.kind === "none" || fault.kind === "whitespace" || fault.kind === "split";

export function encodeText(framed: Buffer, fault: TextFault): Buffer {
  const text = framed.toString("base64");
  const insert = (at: number, extra: string) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + extra + text.slice(i);
  };
  switch (fault.kind) {
    case "none":
      return Buffer.from(text);
    case "whitespace":
    case "junk":
      return Buffer.from(insert(fault.at, fault.text), "latin1");
    case "split": {
      const at = fault.at % (framed.length + 1);
      return Buffer.from(framed.subarray(0, at).toString("base64") + framed.subarray(at).toString("base64"));
    }
    case "random":
      return Buffer.from(fault.text);
  }
}
