/**
 * Word between the workers of a cluster, through the primary (primary.ts relays it): what one
 * worker changed that every worker keeps in memory, and every worker's metrics for a scrape.
 * Without it a change made on one worker (an Actions target, an SSF stream) reached the others
 * only at their next refresh (a second), and the failed-credentials limit and /metrics were
 * each one worker's.
 */
import cluster, { type Worker } from "node:cluster";

/** What one worker tells the others. */
export type Note =
  | { note: "targetChanged"; targetId: string }
  | { note: "streamsChanged" }
  /** Events were committed: the others' watchers and dispatchers look now, not at their next poll. */
  | { note: "committed" }
  | { note: "credentialsFailed"; address: string };

/**
 * The least time between two notes of a kind told with tellSoon. With WORKERS=2 under load a
 * note each turn with commits cost the primary (which relays it) and the worker that hears it
 * CPU on every lock/unlock (bench/FINDINGS.md, "every core" and "two workers' cost a call"); a
 * busy worker's turns are a few ms, so most notes now carry the commits of several turns. A
 * watcher on the other worker hears of a commit this much later at most: far below the watch
 * poll it saves.
 */
export const NOTE_GAP_MS = 20;

const NOTE = "zus:note";
const SCRAPE = "zus:scrape";
const SCRAPED = "zus:scraped";

interface Message {
  type?: string;
  id?: number;
  text?: string;
  error?: string;
}

/**
 * A send's failure: the process at the other end has just died (EPIPE) and is replaced, or it is
 * the primary and the worker ends with it. Without a callback the failure is an 'error' event,
 * which ended the primary with a worker killed while notes were on their way (the crash drill).
 */
const gone = (): void => undefined;

/** In the primary: hands each worker's note to every other worker, and answers scrapes with `metrics`. */
export function relayBetweenWorkers(metrics: () => Promise<string>): void {
  cluster.on("message", (from: Worker, message: Message & Note) => {
    if (message?.type === NOTE) {
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (worker && worker !== from && worker.isConnected()) worker.send(message, undefined, gone);
      }
    } else if (message?.type === SCRAPE) {
      const reply = (answer: Message) => from.isConnected() && from.send({ type: SCRAPED, id: message.id, ...answer }, undefined, gone);
      metrics().then(
        (text) => reply({ text }),
        (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
      );
    }
  });
}

/** In a worker: tells the others, hears them, and asks for every worker's metrics. */
export class WorkerBus {
  private readonly scrapes = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  private nextScrape = 0;
  /** Notes held until they are told (tellSoon), each kind once. */
  private readonly held = new Map<Note["note"], Note>();
  /** When each kind was last told by tellSoon (performance.now()). */
  private readonly toldAt = new Map<Note["note"], number>();

  constructor(heard: (note: Note) => void) {
    process.on("message", (message: Message & Note) => {
      if (message?.type === NOTE) heard(message);
      else if (message?.type === SCRAPED && message.id !== undefined) {
        const scrape = this.scrapes.get(message.id);
        this.scrapes.delete(message.id);
        if (message.error !== undefined) scrape?.reject(new Error(message.error));
        else scrape?.resolve(message.text ?? "");
      }
    });
  }

  tell(note: Note): void {
    if (process.connected) process.send!({ type: NOTE, ...note }, undefined, {}, gone);
  }

  /**
   * Tells `note` once at the end of this turn of the event loop, however often it is told in the
   * turn, and no sooner than NOTE_GAP_MS after the last note of its kind: a turn's commits (one
   * group commit on SQLite), and those of the turns within the gap, cost the others one wake.
   * When it is told, every commit whose answer ran before has committed.
   */
  tellSoon(note: Note): void {
    const kind = note.note;
    const waiting = this.held.has(kind);
    this.held.set(kind, note);
    if (waiting) return;
    const tell = () => {
      const held = this.held.get(kind)!;
      this.held.delete(kind);
      this.toldAt.set(kind, performance.now());
      this.tell(held);
    };
    const wait = (this.toldAt.get(kind) ?? -Infinity) + NOTE_GAP_MS - performance.now();
    if (wait > 0) setTimeout(tell, wait);
    else setImmediate(tell);
  }

  /** Every worker's metrics, added up by the primary. */
  scrapeAll(): Promise<string> {
    const id = this.nextScrape++;
    return new Promise((resolve, reject) => {
      if (!process.connected) return reject(new Error("the primary is gone"));
      this.scrapes.set(id, { resolve, reject });
      process.send!({ type: SCRAPE, id }, undefined, {}, (err: Error | null) => {
        if (!err) return;
        this.scrapes.delete(id);
        reject(new Error("the primary is gone"));
      });
    });
  }
}
