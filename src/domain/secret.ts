/**
 * A value that must reach only the place it is for (a target's signing key: the API answer that
 * shows it, the HMAC, the database): anything that turns it into text by accident, a log line,
 * JSON.stringify, util.inspect or a template string, gets a placeholder instead.
 */
const REDACTED = "[redacted]";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself, for the one use it is for. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  /** What util.inspect (console.log, a debugger) shows. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Secret(${REDACTED})`;
  }
}
