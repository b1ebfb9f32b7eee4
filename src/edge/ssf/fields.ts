/**
 * The members of an SSF request's JSON object, each checked for its type, with errors that name
 * the member. Members nobody asked for are ignored: SSF lets both sides add their own (SSF §4.2,
 * and receivers send e.g. `format`), and a receiver must not fail on a transmitter's extension.
 */
import { invalidArgument } from "../../domain/errors.js";

export type JsonObject = Record<string, unknown>;

/** The fields of one request, read from its body: `what` prefixes every error ("invalid <what>: ..."). */
export class Fields {
  constructor(
    readonly body: JsonObject,
    private readonly what: string,
    /** Where a nested object sits, as errors name its members ("delivery."). */
    private readonly path = "",
  ) {}

  /** Whether the member is there (a null counts as absent). */
  has(name: string): boolean {
    return this.body[name] !== undefined && this.body[name] !== null;
  }

  /** A member's name as errors give it. */
  named(name: string): string {
    return `${this.path}${name}`;
  }

  fail(text: string): never {
    throw invalidArgument(`invalid ${this.what}: ${text}`);
  }

  string(name: string, maxLength: number): string | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (typeof value !== "string") this.fail(`${this.path}${name} must be a string`);
    if (value.length > maxLength) this.fail(`${this.path}${name} is longer than ${maxLength} characters`);
    return value;
  }

  requiredString(name: string, maxLength: number): string {
    const value = this.string(name, maxLength);
    if (!value) this.fail(`${this.path}${name} is required`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (typeof value !== "boolean") this.fail(`${this.path}${name} must be true or false`);
    return value;
  }

  count(name: string): number | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) this.fail(`${this.path}${name} must be a whole number, 0 or more`);
    return value;
  }

  strings(name: string, maxItems: number, maxLength: number): string[] | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) this.fail(`${this.path}${name} must be an array of strings`);
    if (value.length > maxItems) this.fail(`${this.path}${name} has more than ${maxItems} items`);
    if (value.some((item: string) => item.length > maxLength)) this.fail(`an item of ${this.path}${name} is longer than ${maxLength} characters`);
    return value as string[];
  }

  object(name: string): Fields | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (typeof value !== "object" || Array.isArray(value)) this.fail(`${this.path}${name} must be a JSON object`);
    return new Fields(value as JsonObject, this.what, `${this.path}${name}.`);
  }
}
