/**
 * Reading a request's message on the fast path. A body that is not valid protobuf, or an
 * envelope flagged compressed without a compression named, is the client's mistake
 * (InvalidArgument, SPEC §5): mapped here, where the parsing happens. Connect-ES's own
 * serialization answers both with Internal (its stock path is fixed in rpc/connect-es-answers.ts).
 */
import { fromBinary, type BinaryReadOptions, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { Compression, EnvelopedMessage } from "@connectrpc/connect/protocol";
// Private: Connect-ES's decompression with its readMaxBytes check and messages, which the fast path keeps.
import { envelopeDecompress } from "@connectrpc/connect/protocol";
import { malformedProtobuf } from "../errors.js";

/** Flag of a compressed envelope (gRPC, gRPC-Web). */
const COMPRESSED = 0b1;

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
