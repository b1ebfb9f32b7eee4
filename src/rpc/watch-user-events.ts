/** zus.user.v1 WatchUserEvents: the request checked, each watch item as a message, a watch's early end as a status. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  WatchEndedSchema,
  WatchUserEventsResponseSchema,
  type WatchUserEventsRequest,
  type WatchUserEventsResponse,
} from "../../gen/zus/user/v1/user_record_service_pb.js";
import { WatchEnded, type Watch, type WatchEndReason, type WatchReceiver, type Watching } from "../app/watch.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { isUserEventType } from "../domain/events.js";
import type { EventPosition, LoggedEvent } from "../store/event-log.js";
import { callerOf } from "./caller.js";
import { requireLength } from "./from-proto.js";
import { pushStream, type PushStream } from "./push-stream.js";
import { sharedMessage } from "./stream-answer.js";
import { toProtoEvent } from "./user-record-proto.js";
import { encodeWatchResponse } from "./watch-encoding.js";

const MESSAGE = "WatchUserEventsRequest";

/** The ends that carry a position to resume from; a revoked token ends as any call with it would. */
const ENDED: Record<Exclude<WatchEndReason, "revoked">, { code: Code; message: string }> = {
  behind: { code: Code.ResourceExhausted, message: "the watch fell too far behind; resume from the position in this error's details" },
  cancelled: { code: Code.Unavailable, message: "the watch was closed by the server; resume from the position in this error's details" },
};

export function watchUserEvents(watching: Watching, req: WatchUserEventsRequest, ctx: HandlerContext): PushStream<WatchUserEventsResponse> {
  return pushStream((receiver) => {
    let watch: Watch | undefined;
    let stopped = false;
    const messages: WatchReceiver = {
      event: (event, position) => receiver.message(eventMessage(watching, event, position)),
      heartbeat: (position) => receiver.message(create(WatchUserEventsResponseSchema, { position: watching.formatPosition(position), kind: { case: "heartbeat", value: {} } })),
      end: (err) => receiver.end(toStatus(watching, err)),
    };
    openWatch(watching, req, ctx, messages).then(
      (started) => {
        watch = started;
        if (stopped) started.stop();
      },
      (err) => {
        if (!stopped) receiver.end(toStatus(watching, err));
      },
    );
    return {
      resume: () => watch?.resume(),
      stop() {
        stopped = true;
        watch?.stop();
      },
    };
  });
}

/** The request checked and the watch begun (when the stream starts, once the interceptors have run). */
async function openWatch(watching: Watching, req: WatchUserEventsRequest, ctx: HandlerContext, receiver: WatchReceiver): Promise<Watch> {
  const caller = callerOf(ctx);
  const filter = {
    orgId: req.organizationId === "" ? undefined : requireLength(req.organizationId, MESSAGE, "OrganizationId", 1, 200),
    userId: req.userId === "" ? undefined : requireLength(req.userId, MESSAGE, "UserId", 1, 200),
    types: new Set(req.types.map(checkType)),
  };
  const from = req.position === "" ? undefined : watching.parsePosition(req.position);
  if (req.position !== "" && !from) throw invalidArgument(`invalid ${MESSAGE}.Position: not a position this server gave`);
  return watching.watch(caller, { filter, from, message: MESSAGE }, receiver, ctx.signal);
}

/**
 * The hub hands one event to all its watchers as the same object: its message, where their
 * positions agree, is made once and marked shared, so that each protocol frames it once. Their
 * positions are mostly the event's own `after`, the same object, whose text is then not made again.
 */
const eventMessages = new WeakMap<LoggedEvent, { at: EventPosition; message: WatchUserEventsResponse }>();

function eventMessage(watching: Watching, event: LoggedEvent, at: EventPosition): WatchUserEventsResponse {
  const made = eventMessages.get(event);
  if (made?.at === at) return made.message;
  const position = watching.formatPosition(at);
  if (made?.message.position === position) return made.message;
  const message: WatchUserEventsResponse = sharedMessage(
    create(WatchUserEventsResponseSchema, { position, kind: { case: "event", value: toProtoEvent(event.event, event.orgId) } }),
    (binary) => encodeWatchResponse(message, binary),
  );
  eventMessages.set(event, { at, message });
  return message;
}

/** A watch's early end as the status the client sees; any other error as it is. */
function toStatus(watching: Watching, err: unknown): unknown {
  if (!(err instanceof WatchEnded)) return err;
  if (err.reason === "revoked") return new DomainError("Unauthenticated", "AUTH-7fs1e", "Token is invalid");
  const { code, message } = ENDED[err.reason];
  const position = watching.formatPosition(err.position);
  return new ConnectError(message, code, undefined, [{ desc: WatchEndedSchema, value: { position } }]);
}

function checkType(type: string): string {
  if (!isUserEventType(type)) throw invalidArgument(`invalid ${MESSAGE}.Types: unknown event type ${JSON.stringify(type.slice(0, 100))}`);
  return type;
}
