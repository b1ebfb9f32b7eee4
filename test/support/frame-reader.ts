/** Reads a streamed gRPC-Web or Connect body (fetch's Response) frame by frame as it arrives; base64 for gRPC-Web text. */
export class FrameReader {
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

