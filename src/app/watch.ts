/**
 * One watcher (EXTENSIONS.md §1, Watch): the backlog after its start position, then the live
 * tail from the hub, each event once (DESIGN.md, Streams: subscribe first, read the backlog,
 * drop what the backlog covered), only events of users the caller may read, with heartbeats on
 * an idle stream. A watcher that falls `bufferSize` events behind, whose caller's token stops
 * being valid, whose call is cancelled (the server shutting down), or whose reads find the
 * database unavailable (its backlog, its caller's token check) ends with WatchEnded.
 *
 * It pushes: the hub's hand-over gives each event to the receiver in the same turn, and events
 * wait in the watcher only while the receiver holds what it was given (its socket is not
 * draining), its caller's token is being checked, or the backlog is being read. A watcher
 * pulled through an async generator cost a promise and a turn per event and per layer
 * (bench/FINDINGS.md, round "2026-12-06, watchers pushed").
 */
import { invalidArgument, isUnavailable } from "../domain/errors.js";
import { canRead, hasPermission, type Principal } from "../domain/permissions.js";
import { userState } from "../domain/user.js";
import type { EventLog, EventPosition, LoggedEvent } from "../store/event-log.js";
import type { EventLogStore, OrganizationStore, UserStore } from "../store/store.js";
import type { EventHub, HubInterest, HubSubscription } from "./event-hub.js";

export interface WatchFilter {
  orgId?: string;
  userId?: string;
  /** Event types (ZITADEL's names); empty for all. */
  types: ReadonlySet<string>;
}

export type WatchEndReason = "behind" | "revoked" | "cancelled" | "unavailable";

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

/** Where a watcher's messages go. */
export interface WatchReceiver {
  /** An event and the position after it; false when it waits in memory: nothing more until the watch's `resume`. */
  event(event: LoggedEvent, position: EventPosition): boolean;
  /** A heartbeat of an idle stream; false as for `event`. */
  heartbeat(position: EventPosition): boolean;
  /** The watch ended on its own: with WatchEnded, or the error a read failed with. Nothing comes after it. */
  end(err: unknown): void;
}

/** A running watch, as its receiver sees it. */
export interface Watch {
  /** What the receiver held has left: hand it more. */
  resume(): void;
  /** The receiver has gone: the watch stops without calling `end`. */
  stop(): void;
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
  /** How long the backlog waits before it reads again for what the hub had read before the watcher came. */
  pollMs: number;
  signal: AbortSignal;
}

export interface WatchSources {
  hub: EventHub;
  log: EventLog;
  /** Whether the user's token is still good: the user exists and is active. */
  isActive(userId: string): Promise<boolean>;
}

/** Subscribes, then reads the backlog after `from` (if given) and follows the live tail into `receiver`. */
export async function startWatch(
  sources: WatchSources,
  caller: Principal,
  filter: WatchFilter,
  from: EventPosition | undefined,
  options: WatchOptions,
  receiver: WatchReceiver,
): Promise<Watch> {
  const watcher = new Watcher(sources, caller, filter, options, receiver);
  await watcher.start(from);
  return watcher;
}

class Watcher implements Watch {
  /** Events handed over while the watcher held them back, in log order. */
  private readonly queue: LoggedEvent[] = [];
  private subscription!: HubSubscription;
  private position!: EventPosition;
  /** The receiver holds what it was given. */
  private paused = false;
  /** The backlog is being read; the hub's events wait. */
  private reading = false;
  /** An event of the caller itself came (or a heartbeat went): its token is checked before anything more goes. */
  private recheck = true;
  private checking = false;
  /** A heartbeat is due once nothing waits. */
  private idle = false;
  private lastMessage = Date.now();
  private heartbeat?: NodeJS.Timeout;
  private resumed?: () => void;
  private ended = false;
  private readonly onAbort = () => this.finish("cancelled");
  private readonly onTimer = () => this.timerFired();

  constructor(
    private readonly sources: WatchSources,
    private readonly caller: Principal,
    private readonly filter: WatchFilter,
    private readonly options: WatchOptions,
    private readonly receiver: WatchReceiver,
  ) {}

  async start(from: EventPosition | undefined): Promise<void> {
    this.subscription = await this.sources.hub.subscribe((events) => this.handed(events), interestOf(this.caller, this.filter));
    this.position = from ?? this.subscription.position;
    this.options.signal.addEventListener("abort", this.onAbort);
    if (this.options.signal.aborted) return this.finish("cancelled");
    if (!from) return this.follow();
    this.reading = true;
    this.readBacklog().catch((err) => this.failRead(err));
  }

  resume(): void {
    this.paused = false;
    const resumed = this.resumed;
    this.resumed = undefined;
    if (resumed) resumed();
    else this.pump();
  }

  stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
  }

  private wanted(e: LoggedEvent): boolean {
    const { filter } = this;
    return (
      (filter.userId === undefined || e.event.userId === filter.userId) &&
      (filter.orgId === undefined || e.orgId === filter.orgId) &&
      (filter.types.size === 0 || filter.types.has(e.event.type)) &&
      canRead(this.caller, { id: e.event.userId, orgId: e.orgId })
    );
  }

  /** The hub's hand-over: each event goes now unless something holds it back. */
  private handed(events: LoggedEvent[]): void {
    for (const e of events) {
      if (this.ended) return;
      if (e.event.userId === this.caller.userId) this.recheck = true;
      if (!this.wanted(e)) continue;
      if (!this.held()) {
        this.deliver(e);
        continue;
      }
      this.queue.push(e);
      // Nothing more is kept for it (a client that never reads holds no more than this stream's transport buffers).
      if (this.queue.length > this.options.bufferSize) return this.finish("behind");
    }
    if (this.recheck) this.pump();
  }

  private held(): boolean {
    return this.paused || this.reading || this.recheck || this.checking || this.queue.length > 0;
  }

  /**
   * Reads what committed after the start position up to where the hub was when the watcher
   * subscribed (it hands over only what it reads after that), then follows the hub, whose events
   * waited meanwhile. On PostgreSQL the hub may start from a snapshot that shows a transaction
   * which committed while an older one still runs; the log gives that one only once the older
   * has ended (snapshot-position.ts), so the backlog reads again until it has it.
   */
  private async readBacklog(): Promise<void> {
    const { log } = this.sources;
    const through = this.subscription.position;
    for (let full = true; full || !log.positions.includes(this.position, through); ) {
      if (!full) await new Promise((resolve) => setTimeout(resolve, this.options.pollMs));
      if (this.ended) return;
      const read = await log.eventsAfter(this.position, this.options.backlogBatch);
      for (const e of read.events) {
        if (this.ended) return;
        this.position = log.positions.merge(this.position, e.after);
        if (!this.wanted(e) || this.receiver.event(e, this.position)) continue;
        this.paused = true;
        await new Promise<void>((resolve) => (this.resumed = resolve));
      }
      if (this.ended) return;
      this.position = log.positions.merge(this.position, read.end);
      full = read.events.length === this.options.backlogBatch;
    }
    this.reading = false;
    this.follow();
  }

  /**
   * The live tail. One heartbeat timer per watcher rather than one per wait; a message only notes
   * its time, and the timer, when it fires early, waits out the rest: re-arming it for each
   * message moved it in Node's timer list every time (bench/FINDINGS.md, round "2026-12-05, watcher cost").
   */
  private follow(): void {
    this.lastMessage = Date.now();
    this.heartbeat = setTimeout(this.onTimer, this.options.heartbeatMs);
    this.pump();
  }

  private timerFired(): void {
    const rest = this.lastMessage + this.options.heartbeatMs - Date.now();
    if (rest > 0) {
      this.heartbeat = setTimeout(this.onTimer, rest);
      return;
    }
    this.idle = true;
    this.pump();
  }

  /** Hands over what waits, the token check first when one is due, then a heartbeat if one is. */
  private pump(): void {
    const { positions } = this.sources.log;
    while (!this.ended && !this.paused && !this.checking && !this.reading) {
      if (this.recheck) return this.check();
      const next = this.queue.shift();
      if (next) {
        this.deliver(next);
        continue;
      }
      if (!this.idle) return;
      this.idle = false;
      this.recheck = true;
      this.lastMessage = Date.now();
      this.heartbeat = setTimeout(this.onTimer, this.options.heartbeatMs);
      // All it was handed is delivered: its position covers what the hub has read.
      this.position = positions.merge(this.position, this.subscription.current());
      if (!this.receiver.heartbeat(this.position)) this.paused = true;
    }
  }

  private deliver(e: LoggedEvent): void {
    const { positions } = this.sources.log;
    // Already delivered from the backlog.
    if (positions.covers(this.position, e.mark)) return;
    this.position = positions.merge(this.position, e.after);
    this.lastMessage = Date.now();
    if (this.idle) {
      // The timer fired while events waited: the next heartbeat is due a full period after this event.
      this.idle = false;
      this.heartbeat = setTimeout(this.onTimer, this.options.heartbeatMs);
    }
    if (!this.receiver.event(e, this.position)) this.paused = true;
  }

  private check(): void {
    this.recheck = false;
    this.checking = true;
    this.sources.isActive(this.caller.userId).then((active) => {
      this.checking = false;
      if (active) this.pump();
      else this.finish("revoked");
    }, (err) => this.failRead(err));
  }

  /**
   * A read failed. With the database away (a restart, a lost connection) the watch ends as its
   * other ends do, with the position to resume from (docs/api.md, "Ends"), so that a client
   * tells it from a failed call and resumes once the database is back; before, it ended with the
   * store's bare Unavailable and no position.
   */
  private failRead(err: unknown): void {
    if (isUnavailable(err)) this.finish("unavailable");
    else this.fail(err);
  }

  private finish(reason: WatchEndReason): void {
    if (this.ended) return;
    // With nothing waiting, all it was handed is delivered; a watcher behind ends where its client stopped.
    if (reason !== "behind" && this.queue.length === 0 && !this.reading) {
      this.position = this.sources.log.positions.merge(this.position, this.subscription.current());
    }
    this.fail(new WatchEnded(reason, this.position));
  }

  private fail(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    this.receiver.end(err);
  }

  private release(): void {
    clearTimeout(this.heartbeat);
    this.queue.length = 0;
    this.options.signal.removeEventListener("abort", this.onAbort);
    this.subscription.unsubscribe();
    this.resumed?.();
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

  /** Checks the filter and starts the watch into `receiver`. */
  async watch(caller: Principal, request: WatchRequest, receiver: WatchReceiver, signal: AbortSignal): Promise<Watch> {
    const { orgId, userId } = request.filter;
    if (orgId !== undefined && (!hasPermission(caller, "user.read", orgId) || !(await this.store.getOrganization(orgId)))) {
      throw invalidArgument(`invalid ${request.message}.OrganizationId: not an organization whose users you may read`);
    }
    if (userId !== undefined) {
      const user = await this.store.getUser(userId);
      if (!user || !canRead(caller, user)) throw invalidArgument(`invalid ${request.message}.UserId: not a user you may read`);
    }
    const sources = { hub: this.hub, log: this.store.log, isActive: (id: string) => this.isActive(id) };
    const { bufferSize, heartbeatMs, pollMs } = this.settings;
    const options = { bufferSize, heartbeatMs, pollMs, backlogBatch: BACKLOG_BATCH, signal };
    return startWatch(sources, caller, request.filter, request.from, options, receiver);
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
