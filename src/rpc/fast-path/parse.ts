/**
 * Reading a request's message on the fast path. A body that is not valid protobuf, or an
 * envelope flagged compressed without a compression named, is the client's mistake
 * (InvalidArgument, SPEC §5): mapped here, where the parsing happens. Connect-ES's own
 * serialization answers both with Internal (its stock path is fixed in rpc/connect-es-answers.ts).
 */
import { fromBinary, type BinaryReadOptions, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression, EnvelopedMessage } from "@connectrpc/connect/protocol";
// Private: Connect-ES's decompression with its readMaxBytes check and messages, which the fast path keeps.
import { envelopeDecompress } from "@connectrpc/connect/protocol";
import { malformedProtobuf } from "../errors.js";

/** Flag of a compressed envelope (gRPC, gRPC-Web, Connect's streams). */
const COMPRESSED = 0b1;
const HEADER_BYTES = 5;

/**
 * The request message from its bytes, binary or JSON: JSON through Connect-ES's serialization
 * (its errors are InvalidArgument already), binary here.
 */
export function inputParser<T extends DescMessage>(input: T, binaryOptions: Partial<BinaryReadOptions> | undefined, json: { parse(data: Uint8Array): unknown }) {
  return (binary: boolean, data: Uint8Array): MessageShape<T> => {
    if (!binary) return json.parse(data) as MessageShape<T>;
    try {
      return fromBinary(input, data, binaryOptions);
    } catch (err) {
      throw malformedProtobuf(input.name, err instanceof Error ? err.message : String(err));
    }
  };
}

export function decompressEnvelope(input: DescMessage, envelope: EnvelopedMessage, compression: Compression | null, readMaxBytes: number): Promise<EnvelopedMessage> {
  if ((envelope.flags & COMPRESSED) === COMPRESSED && !compression) {
    throw malformedProtobuf(input.name, "received compressed envelope, but do not know how to decompress");
  }
  return envelopeDecompress(envelope, compression, readMaxBytes);
}

/**
 * The request's one message, in Connect-ES's order: a declared length over readMaxBytes is
 * refused as soon as its header arrives, each envelope is decompressed and parsed as soon as
 * it is complete, then bytes left over that do not make a whole envelope are an incomplete
 * envelope, and no message or a second one is Unimplemented. Envelopes flagged `skippedFlag`
 * are decompressed but count for neither. `kind` names the method's kind in the errors, as Connect-ES does.
 */
export async function readSingleMessage<T>(
  body: AsyncIterable<Uint8Array>,
  limits: { input: DescMessage; skippedFlag: number; readMaxBytes: number; compression: Compression | null },
  parse: (data: Uint8Array) => T,
  kind: "unary" | "server-streaming",
): Promise<T> {
  let bytes: Uint8Array = Buffer.alloc(0);
  let consumed = 0;
  let message: { value: T } | undefined;
  for await (const chunk of body) {
    bytes = bytes.byteLength === 0 ? chunk : Buffer.concat([bytes, chunk]);
    for (let envelope = envelopeAt(bytes, consumed, limits.readMaxBytes); envelope; envelope = envelopeAt(bytes, consumed, limits.readMaxBytes)) {
      consumed += HEADER_BYTES + envelope.data.byteLength;
      const { data } = await decompressEnvelope(limits.input, envelope, limits.compression, limits.readMaxBytes);
      if (limits.skippedFlag && (envelope.flags & limits.skippedFlag) === limits.skippedFlag) continue;
      const value = parse(data);
      if (message) throw new ConnectError(`protocol error: received extra input message for ${kind} method`, Code.Unimplemented);
      message = { value };
    }
  }
  if (bytes.byteLength > consumed) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (!message) throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
  return message.value;
}

/** The envelope starting at `offset`, once all of it has arrived. */
function envelopeAt(bytes: Uint8Array, offset: number, readMaxBytes: number): EnvelopedMessage | undefined {
  if (bytes.byteLength < offset + HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER_BYTES);
  const length = view.getUint32(1);
  if (length > readMaxBytes) {
    throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  }
  const start = offset + HEADER_BYTES;
  if (bytes.byteLength < start + length) return undefined;
  return { flags: view.getUint8(0), data: bytes.subarray(start, start + length) };
}
