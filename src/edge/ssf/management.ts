/**
 * The stream management API (SSF §8.1): configuration, status, subjects and verification, each a
 * function of the authenticated caller and the request, answering a Reply. The app decides who
 * may do what (domain/ssf/access.ts); here requests are read and answers written.
 */
import type { Principal } from "../../domain/permissions.js";
import { STREAM_STATUSES, type SsfStream, type StreamStatus } from "../../domain/ssf/stream.js";
import { parseSubject } from "../../domain/ssf/subjects.js";
import type { SsfStreams } from "../../app/ssf/streams.js";
import { Fields, type JsonObject } from "./fields.js";
import type { Reply } from "./replies.js";
import { checkTransmitterSupplied, pollUrl, receiverConfig, streamJson } from "./stream-json.js";

const MAX_STREAM_ID = 128;
const MAX_REASON = 500;
const MAX_STATE = 1024;

/** What a management operation gets: the caller, the query, and the body it reads if it takes one. */
export interface ManagementRequest {
  caller: Principal;
  query: URLSearchParams;
  body(): Promise<JsonObject>;
}

export type ManagementOperation = (streams: SsfStreams, request: ManagementRequest) => Promise<Reply>;

const json = (status: number, body: unknown): Reply => ({ status, body });

function streamReply(streams: SsfStreams, caller: Principal, stream: SsfStream, status = 200): Reply {
  return json(status, viewOf(streams, caller, stream));
}

const viewOf = (streams: SsfStreams, caller: Principal, stream: SsfStream) =>
  streamJson(stream, {
    issuer: streams.settings.issuer,
    minVerificationIntervalS: streams.settings.minVerificationIntervalS,
    showSecrets: stream.receiverId === caller.userId,
  });

/** `stream_id` of the query (GET, DELETE); only reading the configuration may leave it out. */
function queryStreamId(query: URLSearchParams, required: true): string;
function queryStreamId(query: URLSearchParams, required: false): string | undefined;
function queryStreamId(query: URLSearchParams, required: boolean): string | undefined {
  const id = query.get("stream_id") ?? undefined;
  const fields = new Fields({ stream_id: id }, "request");
  return required ? fields.requiredString("stream_id", MAX_STREAM_ID) : fields.string("stream_id", MAX_STREAM_ID);
}

export const createStream: ManagementOperation = async (streams, { caller, body }) => {
  const stream = await streams.create(caller, receiverConfig(new Fields(await body(), "stream configuration")));
  return streamReply(streams, caller, stream, 201);
};

export const readStreams: ManagementOperation = async (streams, { caller, query }) => {
  const id = queryStreamId(query, false);
  if (id === undefined) return json(200, (await streams.list(caller)).map((stream) => viewOf(streams, caller, stream)));
  return streamReply(streams, caller, await streams.get(caller, id));
};

/** PATCH (update: what is left out stays) and PUT (replace: what is left out is deleted). */
function changeStream(replace: boolean): ManagementOperation {
  return async (streams, { caller, body }) => {
    const fields = new Fields(await body(), "stream configuration");
    const id = fields.requiredString("stream_id", MAX_STREAM_ID);
    const stream = await streams.change(caller, id, (current) => {
      checkTransmitterSupplied(fields, viewOf(streams, caller, current), pollUrl(streams.settings.issuer, current.id));
      return receiverConfig(fields, replace ? undefined : current);
    });
    return streamReply(streams, caller, stream);
  };
}

export const updateStream = changeStream(false);
export const replaceStream = changeStream(true);

export const deleteStream: ManagementOperation = async (streams, { caller, query }) => {
  const id = queryStreamId(query, true);
  await streams.delete(caller, id);
  return { status: 204 };
};

const statusJson = (stream: SsfStream) => ({
  stream_id: stream.id,
  status: stream.status,
  ...(stream.statusReason !== undefined && { reason: stream.statusReason }),
});

export const readStatus: ManagementOperation = async (streams, { caller, query }) => {
  const id = queryStreamId(query, true);
  return json(200, statusJson(await streams.get(caller, id)));
};

export const updateStatus: ManagementOperation = async (streams, { caller, body }) => {
  const fields = new Fields(await body(), "stream status");
  const id = fields.requiredString("stream_id", MAX_STREAM_ID);
  const status = fields.requiredString("status", 16);
  if (!(STREAM_STATUSES as readonly string[]).includes(status)) fields.fail(`status must be one of ${STREAM_STATUSES.join(", ")}`);
  const reason = fields.string("reason", MAX_REASON);
  return json(200, statusJson(await streams.setStatus(caller, id, status as StreamStatus, reason)));
};

/** Add (200, empty) and remove (204): SSF §8.1.3.2 and §8.1.3.3. */
function changeSubject(included: boolean): ManagementOperation {
  return async (streams, { caller, body }) => {
    const fields = new Fields(await body(), included ? "add subject request" : "remove subject request");
    const id = fields.requiredString("stream_id", MAX_STREAM_ID);
    if (!fields.has("subject")) fields.fail("subject is required");
    const subject = parseSubject(fields.body.subject, `${included ? "add" : "remove"} subject request: subject`);
    if (included) fields.boolean("verified");
    await streams.setSubject(caller, id, subject, included);
    return { status: included ? 200 : 204 };
  };
}

export const addSubject = changeSubject(true);
export const removeSubject = changeSubject(false);

export const requestVerification: ManagementOperation = async (streams, { caller, body }) => {
  const fields = new Fields(await body(), "verification request");
  const id = fields.requiredString("stream_id", MAX_STREAM_ID);
  await streams.requestVerification(caller, id, fields.string("state", MAX_STATE));
  return { status: 204 };
};
