/**
 * The poll endpoint of a stream (RFC 8936 as SSF §5.2.2 profiles it): POST /ssf/poll/{stream_id}
 * with `maxEvents`, `returnImmediately`, `ack` and `setErrs`; the answer is
 * `{"sets": {jti: SET}, "moreAvailable": bool}`. Acknowledgements and errors are recorded
 * before anything is taken, so a receiver can acknowledge and ask for more in one request.
 * Without returnImmediately (RFC 8936 §2.1: false by default) the request waits for a SET up to
 * the long poll time.
 */
import type { Principal } from "../../domain/permissions.js";
import type { PollQueue, SetError } from "../../app/ssf/poll-queue.js";
import type { SsfStreams } from "../../app/ssf/streams.js";
import { Fields, type JsonObject } from "./fields.js";
import type { Reply } from "./replies.js";

/** The most SETs one answer carries; a receiver asking for more gets this many and moreAvailable. */
export const MAX_EVENTS_PER_POLL = 100;
const MAX_JTIS = 1000;
const MAX_JTI = 256;
const MAX_ERROR_TEXT = 1024;

export interface PollRequest {
  caller: Principal;
  streamId: string;
  body(): Promise<JsonObject>;
  /** Aborted when the receiver goes away or the server stops: a long poll ends then. */
  signal: AbortSignal;
}

export async function poll(streams: SsfStreams, queue: PollQueue, longPollMs: number, request: PollRequest): Promise<Reply> {
  await streams.forPolling(request.caller, request.streamId);
  const fields = new Fields(await request.body(), "poll request");
  const maxEvents = Math.min(fields.count("maxEvents") ?? MAX_EVENTS_PER_POLL, MAX_EVENTS_PER_POLL);
  const returnImmediately = fields.boolean("returnImmediately") ?? false;
  const ack = fields.strings("ack", MAX_JTIS, MAX_JTI) ?? [];
  const errors = setErrors(fields);
  if (ack.length) await queue.ack(request.streamId, ack);
  if (errors.size) await queue.error(request.streamId, errors);
  const waitMs = returnImmediately || maxEvents === 0 ? 0 : longPollMs;
  const taken = await queue.take(request.streamId, maxEvents, waitMs, request.signal);
  return { status: 200, body: { sets: Object.fromEntries(taken.sets.map(({ jti, set }) => [jti, set])), moreAvailable: taken.moreAvailable } };
}

/** RFC 8936 §2.4.4: `setErrs`, an object of jti → {"err", "description"}. */
function setErrors(fields: Fields): Map<string, SetError> {
  const errs = fields.object("setErrs");
  const errors = new Map<string, SetError>();
  if (!errs) return errors;
  const jtis = Object.keys(errs.body);
  if (jtis.length > MAX_JTIS) errs.fail(`setErrs has more than ${MAX_JTIS} members`);
  for (const jti of jtis) {
    if (jti.length > MAX_JTI) errs.fail(`a jti of setErrs is longer than ${MAX_JTI} characters`);
    const error = errs.object(jti) ?? errs.fail(`setErrs.${jti} must be a JSON object`);
    const description = error.string("description", MAX_ERROR_TEXT);
    errors.set(jti, { err: error.requiredString("err", MAX_ERROR_TEXT), ...(description !== undefined && { description }) });
  }
  return errors;
}
