/**
 * Like Batcher (store/batcher.ts), items that arrive in one turn of the event loop are run
 * together, but at most `limit` runs are in flight: items that arrive while they all are wait for
 * the first to end and go together in the next. Under load the batches grow instead of the
 * statements: on PostgreSQL each statement costs the server a socket write that wakes a database
 * process, whatever it carries (bench/FINDINGS.md, round "2026-12-06, PostgreSQL's reads a turn").
 */
export class GatedBatcher<T> {
  private items: T[] = [];
  private running = 0;
  private scheduled = false;

  /** `run` answers its items itself and must not reject. */
  constructor(
    private readonly limit: number,
    private readonly run: (items: T[]) => Promise<void>,
  ) {}

  add(item: T): void {
    this.items.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.limit || this.items.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const items = this.items;
      this.items = [];
      this.running++;
      void this.run(items).finally(() => {
        this.running--;
        this.schedule();
      });
    });
  }
}
