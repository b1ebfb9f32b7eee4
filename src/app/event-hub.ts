/**
 * One reader of the event log per process, shared by every watcher: it reads what committed
 * after its position — at once when this process commits, and every `pollMs` for what other
 * processes commit (other instances on PostgreSQL) — and hands each listener the events of the
 * users and organizations it named, or every batch if it named none. It reads only while someone
 * listens.
 *
 * Listeners are indexed by what they named, so that an event costs its own watchers, not every
 * watcher: with 1,000 watchers of one user each, handing every batch to all of them (each to
 * filter it, and wake to move its position) cost the server more than the deliveries did
 * (bench/FINDINGS.md, round "2026-12-05, watchers").
 */
import type { EventLog, EventPosition, LoggedEvent } from "../store/event-log.js";

/** Hands over events in log order. */
export type HubListener = (events: LoggedEvent[]) => void;

/** The events a listener is handed: those of these users and those of users in these organizations. */
export interface HubInterest {
  users: readonly string[];
  orgs: readonly string[];
}

export interface HubSubscription {
  /** Where the listener starts: it is handed every batch read after it. */
  position: EventPosition;
  /** Covers every batch read so far: a listener that has dealt with all it was handed has had all it named up to here. */
  current(): EventPosition;
  unsubscribe(): void;
}

type Index = Map<string, Set<HubListener>>;

export interface HubOptions {
  /** How often to look for events committed elsewhere. */
  pollMs: number;
  /** Events read at most per read. */
  batchSize: number;
  /** A read failed (e.g. the database went away); the hub tries again. */
  onError(err: unknown): void;
}

/**
 * Longest wait between reads after failures. What another instance commits reaches this one's
 * watchers only through these reads, so after a database restart the first of them comes up to
 * this long after the database is back: 5 s could have been most of the recovery a drill
 * measures (drill/ground-postgres.ts); one read a second while the database is away costs nothing.
 */
const MAX_BACKOFF_MS = 1_000;

export class EventHub {
  /** Listeners of every event. */
  private readonly everything = new Set<HubListener>();
  private readonly byUser: Index = new Map();
  private readonly byOrg: Index = new Map();
  /** Where the next read starts; known while there are listeners. */
  private position?: EventPosition;
  private starting?: Promise<void>;
  private reading = false;
  private wakeUp?: () => void;
  private woken = false;
  private closed = false;

  constructor(
    private readonly log: EventLog,
    private readonly options: HubOptions,
  ) {}

  /**
   * Hands `listener` the events named by `interest` (all of them without one) of every batch read
   * after the position returned, until `unsubscribe`: in log order, each event once, nothing for a
   * batch without such events. Each is handed over before the next batch is read.
   */
  async subscribe(listener: HubListener, interest?: HubInterest): Promise<HubSubscription> {
    while (this.position === undefined) {
      this.starting ??= this.log
        .head()
        .then((head) => {
          this.position ??= head;
        })
        .finally(() => (this.starting = undefined));
      await this.starting;
    }
    // The position and the listener in one turn: no batch can fall between the two.
    const position = this.position;
    const keys = interest ? [...interest.users.map((id): [Index, string] => [this.byUser, id]), ...interest.orgs.map((id): [Index, string] => [this.byOrg, id])] : [];
    for (const [index, id] of keys) index.get(id)?.add(listener) ?? index.set(id, new Set([listener]));
    if (!interest) this.everything.add(listener);
    if (!this.reading) void this.read();
    return {
      position,
      current: () => this.position ?? position,
      unsubscribe: () => {
        this.everything.delete(listener);
        for (const [index, id] of keys) {
          const set = index.get(id);
          set?.delete(listener);
          if (set?.size === 0) index.delete(id);
        }
      },
    };
  }

  /** Something committed here: read now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  close(): void {
    this.closed = true;
    this.everything.clear();
    this.byUser.clear();
    this.byOrg.clear();
    this.wakeUp?.();
  }

  /** A listener that named nobody is handed nothing and keeps nothing reading. */
  private get listening(): boolean {
    return this.everything.size + this.byUser.size + this.byOrg.size > 0;
  }

  private async read(): Promise<void> {
    this.reading = true;
    let failures = 0;
    try {
      while (this.listening && !this.closed) {
        const from = this.position!;
        this.woken = false;
        let batch: { events: LoggedEvent[]; end: EventPosition };
        try {
          batch = await this.log.eventsAfter(from, this.options.batchSize);
          failures = 0;
        } catch (err) {
          if (failures++ === 0) this.options.onError(err);
          await this.pause(Math.min(this.options.pollMs * 2 ** failures, MAX_BACKOFF_MS));
          continue;
        }
        // The new position and the hand-over in one turn: a listener that subscribes in
        // between starts after this batch and gets none of it.
        this.position = batch.end;
        this.handOver(batch.events);
        if (batch.events.length < this.options.batchSize && !this.woken) await this.pause(this.options.pollMs);
      }
    } finally {
      this.reading = false;
      // Nobody listens: the next listener starts from the head as it then is.
      if (!this.listening) this.position = undefined;
    }
  }

  /** Each listener its events of the batch, once each, in log order. */
  private handOver(events: LoggedEvent[]): void {
    if (events.length === 0) return;
    for (const listener of this.everything) listener(events);
    if (this.byUser.size === 0 && this.byOrg.size === 0) return;
    const named = new Map<HubListener, LoggedEvent[]>();
    const add = (listeners: Set<HubListener> | undefined, e: LoggedEvent) => {
      if (!listeners) return;
      for (const listener of listeners) {
        const own = named.get(listener);
        if (!own) named.set(listener, [e]);
        // A listener that named both the event's user and its organization takes it once.
        else if (own[own.length - 1] !== e) own.push(e);
      }
    };
    for (const e of events) {
      add(this.byUser.get(e.event.userId), e);
      add(this.byOrg.get(e.orgId), e);
    }
    for (const [listener, own] of named) listener(own);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
      if (this.woken || this.closed) done();
    });
  }
}
