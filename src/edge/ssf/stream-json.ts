/**
 * A stream's configuration as SSF §8.1.1 writes it in JSON: read from the receiver's create,
 * update and replace requests, and written in every answer about a stream.
 */
import { isDeepStrictEqual } from "node:util";
import { EVENTS_SUPPORTED, POLL, PUSH } from "../../domain/ssf/event-types.js";
import type { Delivery, ReceiverConfig, SsfStream, SubjectFormat } from "../../domain/ssf/stream.js";
import type { Fields, JsonObject } from "./fields.js";

/** A description longer than this is cut to it (SSF §8.1.1 lets the transmitter truncate it). */
export const MAX_DESCRIPTION = 500;
const MAX_EVENTS_REQUESTED = 64;
const MAX_URI = 2048;
const MAX_AUTHORIZATION_HEADER = 4096;
const FORMATS: readonly SubjectFormat[] = ["iss_sub", "email"];

/** What an answer about a stream depends on besides the stream. */
export interface StreamView {
  issuer: string;
  minVerificationIntervalS: number;
  /** The receiver's own Authorization header for its push endpoint is shown to the receiver only. */
  showSecrets: boolean;
}

/** SSF §5.2.2: the poll endpoint of a stream is ours, one per stream. */
export const pollUrl = (issuer: string, streamId: string) => `${issuer}/ssf/poll/${encodeURIComponent(streamId)}`;

export function streamJson(stream: SsfStream, view: StreamView): JsonObject {
  return {
    stream_id: stream.id,
    iss: view.issuer,
    aud: stream.aud,
    delivery: deliveryJson(stream, view),
    events_supported: EVENTS_SUPPORTED,
    ...(stream.eventsRequested && { events_requested: stream.eventsRequested }),
    events_delivered: stream.eventsDelivered,
    ...(stream.description !== undefined && { description: stream.description }),
    min_verification_interval: view.minVerificationIntervalS,
    format: stream.format,
  };
}

function deliveryJson(stream: SsfStream, view: StreamView): JsonObject {
  const { delivery } = stream;
  if (delivery.method === POLL) return { method: POLL, endpoint_url: pollUrl(view.issuer, stream.id) };
  return {
    method: PUSH,
    endpoint_url: delivery.endpointUrl,
    ...(view.showSecrets && delivery.authorizationHeader !== undefined && { authorization_header: delivery.authorizationHeader }),
  };
}

/**
 * The receiver's choices in a request: what it gives replaces what `base` has; what it leaves out
 * is `base`'s (an update, SSF §8.1.1.3) or, without a base, the default: poll delivery, nothing
 * requested, no description, subjects by iss_sub (a create, §8.1.1.1, or a replacement, §8.1.1.4,
 * where what is left out is deleted).
 */
export function receiverConfig(fields: Fields, base?: ReceiverConfig): ReceiverConfig {
  const deliveryFields = fields.object("delivery");
  const delivery = deliveryFields ? parseDelivery(deliveryFields) : (base?.delivery ?? { method: POLL });
  const eventsRequested = fields.strings("events_requested", MAX_EVENTS_REQUESTED, MAX_URI) ?? base?.eventsRequested;
  const description = fields.has("description") ? fields.string("description", Infinity)!.slice(0, MAX_DESCRIPTION) : base?.description;
  const format = fields.string("format", 16) ?? base?.format ?? "iss_sub";
  if (!(FORMATS as readonly string[]).includes(format)) fields.fail(`format must be "iss_sub" or "email"`);
  return {
    delivery,
    ...(eventsRequested && { eventsRequested }),
    ...(description !== undefined && { description }),
    format: format as SubjectFormat,
  };
}

function parseDelivery(fields: Fields): Delivery {
  const method = fields.requiredString("method", MAX_URI);
  if (method === POLL) return { method: POLL };
  if (method !== PUSH) fields.fail(`${fields.named("method")} must be "${PUSH}" (push) or "${POLL}" (poll)`);
  const endpointUrl = fields.requiredString("endpoint_url", MAX_URI);
  const url = URL.canParse(endpointUrl) ? new URL(endpointUrl) : undefined;
  if (url?.protocol !== "https:" && url?.protocol !== "http:") fields.fail(`${fields.named("endpoint_url")} must be an absolute http(s) URL`);
  const authorizationHeader = fields.string("authorization_header", MAX_AUTHORIZATION_HEADER);
  // Sent as an HTTP header value as it is: no line breaks or other control characters.
  if (authorizationHeader !== undefined && !/^[\t\x20-\x7e\x80-\xff]*$/.test(authorizationHeader)) {
    fields.fail(`${fields.named("authorization_header")} must be a valid HTTP header value`);
  }
  return { method: PUSH, endpointUrl, ...(authorizationHeader && { authorizationHeader }) };
}

/**
 * SSF §8.1.1.3 and §8.1.1.4: Transmitter-Supplied properties may be sent back with an update or
 * a replacement, but must then be what the transmitter has (arrays in any order, `aud` as a
 * string or an array of it); so must a poll endpoint_url.
 */
export function checkTransmitterSupplied(fields: Fields, current: JsonObject, ourPollUrl: string): void {
  for (const name of ["iss", "aud", "events_supported", "events_delivered", "min_verification_interval"]) {
    if (fields.has(name) && !sameValue(fields.body[name], current[name])) fields.fail(`${name} does not match the transmitter's value`);
  }
  const delivery = fields.object("delivery");
  if (delivery?.body.method === POLL && delivery.has("endpoint_url") && delivery.body.endpoint_url !== ourPollUrl) {
    fields.fail(`${delivery.named("endpoint_url")} of a poll stream is the transmitter's: ${ourPollUrl}`);
  }
}

function sameValue(given: unknown, ours: unknown): boolean {
  const asSet = (value: unknown) => (Array.isArray(value) ? [...value].sort() : typeof value === "string" ? [value] : value);
  return isDeepStrictEqual(asSet(given), asSet(ours));
}
