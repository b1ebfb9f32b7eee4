/**
 * One reader of the event log per process, shared by every watcher: it reads what committed
 * after its position — at once when this process commits, and every `pollMs` for what other
 * processes commit (other instances on PostgreSQL) — and hands each batch to every listener.
 * It reads only while someone listens.
 */
import type { EventLog, EventPosition, LoggedEvent } from "../store/event-log.js";

export interface HubBatch {
  events: LoggedEvent[];
  /** Covers the batch's events and whatever was read past them. */
  end: EventPosition;
}

export type HubListener = (batch: HubBatch) => void;

export interface HubOptions {
  /** How often to look for events committed elsewhere. */
  pollMs: number;
  /** Events read at most per read. */
  batchSize: number;
  /** A read failed (e.g. the database went away); the hub tries again. */
  onError(err: unknown): void;
}

/** Longest wait between reads after failures. */
const MAX_BACKOFF_MS = 5_000;

export class EventHub {
  private readonly listeners = new Set<HubListener>();
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
   * Delivers to `listener` every batch read after the position returned, until `unsubscribe`.
   * Batches arrive in log order; each is handed over before the next is read.
   */
  async subscribe(listener: HubListener): Promise<{ position: EventPosition; unsubscribe(): void }> {
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
    this.listeners.add(listener);
    if (!this.reading) void this.read();
    return { position, unsubscribe: () => this.listeners.delete(listener) };
  }

  /** Something committed here: read now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.wakeUp?.();
  }

  private async read(): Promise<void> {
    this.reading = true;
    let failures = 0;
    try {
      while (this.listeners.size > 0 && !this.closed) {
        const from = this.position!;
        this.woken = false;
        let batch: HubBatch;
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
        for (const listener of this.listeners) listener(batch);
        if (batch.events.length < this.options.batchSize && !this.woken) await this.pause(this.options.pollMs);
      }
    } finally {
      this.reading = false;
      // Nobody listens: the next listener starts from the head as it then is.
      if (this.listeners.size === 0) this.position = undefined;
    }
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
