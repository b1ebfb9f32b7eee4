/**
 * The log of every user event in commit order, read by position: what history pages and
 * watchers resume from (EXTENSIONS.md §1, Watch). What a position is depends on the backend
 * (a row id on SQLite, a snapshot of committed transactions on PostgreSQL: DESIGN.md, Storage),
 * so outside the store a position is opaque: parsed, formatted, compared through `positions`.
 */
import type { RecordedUserEvent } from "../domain/events.js";

declare const opaque: unique symbol;

/** A place in the log: everything committed up to it (as the backend defines "up to"). */
export interface EventPosition {
  readonly [opaque]: "EventPosition";
}

/** Where one event sits in the log, for `PositionRules.covers`. */
export interface EventMark {
  readonly [opaque]: "EventMark";
}

export interface LoggedEvent {
  event: RecordedUserEvent;
  /** The user's organization. */
  orgId: string;
  mark: EventMark;
  /** The position that covers this event and every one before it in the read that gave it. */
  after: EventPosition;
}

export interface PositionRules {
  /** A position's text for clients (safe in a URL); undefined for text no store of this kind gives. */
  parse(text: string): EventPosition | undefined;
  format(position: EventPosition): string;
  /** Whether the event is at or before the position: a watcher there has already had it. */
  covers(position: EventPosition, mark: EventMark): boolean;
  /** The position that covers whatever either covers. */
  merge(a: EventPosition, b: EventPosition): EventPosition;
  /** Whether `a` covers every event `b` covers. */
  includes(a: EventPosition, b: EventPosition): boolean;
}

export interface EventLog {
  readonly positions: PositionRules;
  /** The position covering every event committed now. */
  head(): Promise<EventPosition>;
  /**
   * Events committed after `from` and not covered by it, oldest first (a user's in commit
   * order), about `limit` at most, and the position after them. Only what is durable.
   */
  eventsAfter(from: EventPosition, limit: number): Promise<{ events: LoggedEvent[]; end: EventPosition }>;
  /**
   * A user's events, newest first: at most `limit`, each with a sequence below `before` when
   * given; and the position covering every event committed when they were read.
   */
  userEvents(userId: string, before: number | undefined, limit: number): Promise<{ events: RecordedUserEvent[]; position: EventPosition }>;
}

/** Positions travel as base64url, so that clients treat them as the opaque tokens they are. */
export const positionText = (inner: string): string => Buffer.from(inner, "latin1").toString("base64url");
export const positionInner = (text: string): string => Buffer.from(text, "base64url").toString("latin1");
