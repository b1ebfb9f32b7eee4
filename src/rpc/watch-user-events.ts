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
import { pushStream, SelfFramed, type PushStream } from "./push-stream.js";
import { toProtoEvent } from "./user-record-proto.js";
import { watchEventFrame } from "./watch-encoding.js";

const MESSAGE = "WatchUserEventsRequest";

/** The ends that carry a position to resume from; a revoked token ends as any call with it would. */
const ENDED: Record<Exclude<WatchEndReason, "revoked">, { code: Code; message: string }> = {
  behind: { code: Code.ResourceExhausted, message: "the watch fell too far behind; resume from the position in this error's details" },
  cancelled: { code: Code.Unavailable, message: "the watch was closed by the server; resume from the position in this error's details" },
  unavailable: { code: Code.Unavailable, message: "the database is unavailable; resume from the position in this error's details" },
};

export function watchUserEvents(watching: Watching, req: WatchUserEventsRequest, ctx: HandlerContext): PushStream<WatchUserEventsResponse> {
  return pushStream((receiver) => {
    let watch: Watch | undefined;
    let stopped = false;
    const messages: WatchReceiver = {
      event: (event, position) => receiver.message(eventItem(watching, event, position)),
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
 * One event as its watchers are sent it: its frames written from the event itself
 * (watch-encoding.ts), each format once for all the watchers it is handed to in the same turn,
 * its message made only for a stream that pulls. The hub hands one event to all its watchers as
 * the same object, and their positions are mostly the event's own `after`, the same object,
 * whose text is then not made again.
 */
class EventFrames extends SelfFramed<WatchUserEventsResponse> {
  private binary?: Uint8Array;
  private json?: Uint8Array;
  private made?: WatchUserEventsResponse;

  constructor(
    private readonly event: LoggedEvent,
    readonly at: EventPosition,
    readonly position: string,
  ) {
    super();
  }

  frame(binary: boolean): Uint8Array | undefined {
    const { event, orgId } = this.event;
    if (binary) return (this.binary ??= watchEventFrame(event, orgId, this.position, true));
    return (this.json ??= watchEventFrame(event, orgId, this.position, false));
  }

  message(): WatchUserEventsResponse {
    const { event, orgId } = this.event;
    return (this.made ??= create(WatchUserEventsResponseSchema, { position: this.position, kind: { case: "event", value: toProtoEvent(event, orgId) } }));
  }
}

/**
 * The items of the events handed over in this turn, for all their watchers; forgotten after it.
 * Keyed weakly by the event, each item lived as long as the SQLite log's memory keeps the event
 * (its last 1,000–2,000), long enough to be moved to the old generation with its frames
 * (bench/FINDINGS.md, round "2026-12-06, watchers' frames").
 */
const recent = new Map<LoggedEvent, EventFrames>();
const forget = () => recent.clear();

function eventItem(watching: Watching, event: LoggedEvent, at: EventPosition): EventFrames {
  const made = recent.get(event);
  if (made?.at === at) return made;
  const position = watching.formatPosition(at);
  if (made?.position === position) return made;
  const item = new EventFrames(event, at, position);
  if (recent.size === 0) queueMicrotask(forget);
  recent.set(event, item);
  return item;
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
