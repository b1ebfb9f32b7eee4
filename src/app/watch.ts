/**
 * One watcher (EXTENSIONS.md §1, Watch): the backlog after its start position, then the live
 * tail from the hub, each event once (DESIGN.md, Streams: subscribe first, read the backlog,
 * drop what the backlog covered), only events of users the caller may read, with heartbeats on
 * an idle stream. A watcher that falls `bufferSize` events behind, whose caller's token stops
 * being valid, or whose call is cancelled (the server shutting down) ends with WatchEnded.
 */
import { invalidArgument } from "../domain/errors.js";
import { canRead, hasPermission, type Principal } from "../domain/permissions.js";
import { userState } from "../domain/user.js";
import type { EventLog, EventPosition, LoggedEvent } from "../store/event-log.js";
import type { EventLogStore, OrganizationStore, UserStore } from "../store/store.js";
import type { EventHub, HubInterest } from "./event-hub.js";

export interface WatchFilter {
  orgId?: string;
  userId?: string;
  /** Event types (ZITADEL's names); empty for all. */
  types: ReadonlySet<string>;
}

export type WatchItem = { kind: "event"; event: LoggedEvent; position: EventPosition } | { kind: "heartbeat"; position: EventPosition };

export type WatchEndReason = "behind" | "revoked" | "cancelled";

/** How a watch ended before its caller ended it, and the position after the last event it delivered. */
export class WatchEnded extends Error {
  constructor(
    readonly reason: WatchEndReason,
    readonly position: EventPosition,
  ) {
    super(`watch ended: ${reason}`);
    this.name = "WatchEnded";
  }
}

export interface WatchSettings {
  /** Events that may wait for one slow watcher before its stream ends with ResourceExhausted. */
  bufferSize: number;
  /** A heartbeat after this long without a message. */
  heartbeatMs: number;
  /** How often the log is read for events committed by other instances. */
  pollMs: number;
}

export interface WatchOptions {
  /** Events that may wait for a slow watcher before it is ended. */
  bufferSize: number;
  heartbeatMs: number;
  /** Backlog events read at a time. */
  backlogBatch: number;
  signal: AbortSignal;
}

export interface WatchSources {
  hub: EventHub;
  log: EventLog;
  /** Whether the user's token is still good: the user exists and is active. */
  isActive(userId: string): Promise<boolean>;
}

export async function* watchEvents(
  sources: WatchSources,
  caller: Principal,
  filter: WatchFilter,
  from: EventPosition | undefined,
  options: WatchOptions,
): AsyncGenerator<WatchItem> {
  const { log } = sources;
  const wanted = (e: LoggedEvent) =>
    (filter.userId === undefined || e.event.userId === filter.userId) &&
    (filter.orgId === undefined || e.orgId === filter.orgId) &&
    (filter.types.size === 0 || filter.types.has(e.event.type)) &&
    canRead(caller, { id: e.event.userId, orgId: e.orgId });

  const queue: LoggedEvent[] = [];
  let behind = false;
  /** An event of the caller itself came: is its token still good? */
  let recheck = true;
  let wake: (() => void) | undefined;
  const onEvents = (events: LoggedEvent[]) => {
    if (behind) return;
    let news = false;
    for (const e of events) {
      if (e.event.userId === caller.userId) news = recheck = true;
      if (!wanted(e)) continue;
      news = true;
      queue.push(e);
      if (queue.length > options.bufferSize) {
        // Nothing more is kept for it; it ends when it next asks (a client that never reads
        // holds no more than this stream's transport buffers).
        behind = true;
        queue.length = 0;
        subscription.unsubscribe();
        break;
      }
    }
    if (news) wake?.();
  };
  const subscription = await sources.hub.subscribe(onEvents, interestOf(caller, filter));
  const onAbort = () => wake?.();
  options.signal.addEventListener("abort", onAbort);
  let position = from ?? subscription.position;
  const end = (reason: WatchEndReason) => new WatchEnded(reason, position);
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    if (from) {
      // The backlog up to now; the hub's batches from its start are queued meanwhile.
      for (let full = true; full; ) {
        if (options.signal.aborted) throw end("cancelled");
        const read = await log.eventsAfter(position, options.backlogBatch);
        for (const e of read.events) {
          position = log.positions.merge(position, e.after);
          if (wanted(e)) yield { kind: "event", event: e, position };
        }
        position = log.positions.merge(position, read.end);
        full = read.events.length === options.backlogBatch;
      }
    }
    // One heartbeat timer per watcher rather than a timer and two closures made for each wait (a
    // thousand watchers wait once per event each); a message only notes its time, and the timer,
    // when it fires early, waits out the rest: re-arming it for each message moved it in Node's
    // timer list every time (bench/FINDINGS.md, round "2026-12-05, watcher cost").
    let idle = false;
    let lastMessage = Date.now();
    const onTimer = () => {
      const rest = lastMessage + options.heartbeatMs - Date.now();
      if (rest > 0) {
        heartbeat = setTimeout(onTimer, rest);
        return;
      }
      idle = true;
      wake?.();
    };
    heartbeat = setTimeout(onTimer, options.heartbeatMs);
    for (;;) {
      if (options.signal.aborted) throw end("cancelled");
      if (behind) throw end("behind");
      if (recheck) {
        recheck = false;
        if (!(await sources.isActive(caller.userId))) throw end("revoked");
      }
      const next = queue.shift();
      if (!next) {
        // All it was handed is delivered: its position covers what the hub has read.
        position = log.positions.merge(position, subscription.current());
        if (idle) {
          idle = false;
          recheck = true;
          lastMessage = Date.now();
          heartbeat = setTimeout(onTimer, options.heartbeatMs);
          yield { kind: "heartbeat", position };
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
        continue;
      }
      // Already delivered from the backlog.
      if (log.positions.covers(position, next.mark)) continue;
      position = log.positions.merge(position, next.after);
      lastMessage = Date.now();
      if (idle) {
        // The timer fired while events were queued: the next heartbeat is due a full period after this event.
        idle = false;
        heartbeat = setTimeout(onTimer, options.heartbeatMs);
      }
      yield { kind: "event", event: next, position };
    }
  } finally {
    clearTimeout(heartbeat);
    options.signal.removeEventListener("abort", onAbort);
    subscription.unsubscribe();
  }
}

/**
 * What the hub hands a watcher: its user's or organization's events and the caller's own (whose
 * token an event may end); everything for a watcher of all it may read.
 */
function interestOf(caller: Principal, filter: WatchFilter): HubInterest | undefined {
  if (filter.userId !== undefined) return { users: [...new Set([filter.userId, caller.userId])], orgs: [] };
  if (filter.orgId !== undefined) return { users: [caller.userId], orgs: [filter.orgId] };
  return undefined;
}

/** What the watch RPC asks for, checked: positions parsed, filters naming what the caller may read. */
export class Watching {
  constructor(
    private readonly hub: EventHub,
    private readonly store: Pick<UserStore, "getUser"> & EventLogStore & Pick<OrganizationStore, "getOrganization">,
    private readonly settings: WatchSettings,
  ) {}

  /** Undefined for text that is no position this server gave. */
  parsePosition(text: string): EventPosition | undefined {
    return this.store.log.positions.parse(text);
  }

  formatPosition(position: EventPosition): string {
    return this.store.log.positions.format(position);
  }

  /** Checks the filter; the events come from iterating the result. */
  async watch(caller: Principal, request: WatchRequest, signal: AbortSignal): Promise<AsyncGenerator<WatchItem>> {
    const { orgId, userId } = request.filter;
    if (orgId !== undefined && (!hasPermission(caller, "user.read", orgId) || !(await this.store.getOrganization(orgId)))) {
      throw invalidArgument(`invalid ${request.message}.OrganizationId: not an organization whose users you may read`);
    }
    if (userId !== undefined) {
      const user = await this.store.getUser(userId);
      if (!user || !canRead(caller, user)) throw invalidArgument(`invalid ${request.message}.UserId: not a user you may read`);
    }
    const sources = { hub: this.hub, log: this.store.log, isActive: (id: string) => this.isActive(id) };
    return watchEvents(sources, caller, request.filter, request.from, {
      bufferSize: this.settings.bufferSize,
      heartbeatMs: this.settings.heartbeatMs,
      backlogBatch: BACKLOG_BATCH,
      signal,
    });
  }

  private async isActive(userId: string): Promise<boolean> {
    const user = await this.store.getUser(userId);
    return user !== undefined && userState(user.flags) === "active";
  }
}

export interface WatchRequest {
  filter: WatchFilter;
  from?: EventPosition;
  /** The request message's name, for errors. */
  message: string;
}

/** Backlog events read at a time. */
const BACKLOG_BATCH = 500;
