/**
 * Whether the V8 heap is close to its limit (--max-old-space-size, or V8's default), so that the
 * server refuses new calls and streams (ResourceExhausted) rather than grow until V8 aborts it
 * and every call in flight is lost. Read at each call (getHeapStatistics costs ~0.35 µs): a
 * reading every 50 ms let the burst of a thousand calls and twenty lists of a thousand users
 * that arrived between two readings exhaust a 40 MiB heap (docs/guarantees.md, the ground drill).
 */
import { getHeapStatistics } from "node:v8";

/**
 * What V8's heap_size_limit holds beyond the old generation's limit (the one that aborts the
 * process): the young generation's reserve, three semi-spaces of 16 MiB on 64-bit. A percent of
 * heap_size_limit itself never fired under a small --max-old-space-size (96 MiB gives a limit of
 * 144 MiB; the process died at 40 MiB with the check at 85% of 88). test/heap-pressure.test.ts
 * holds this figure against the Node it runs on.
 */
export const YOUNG_GENERATION_BYTES = 48 * 2 ** 20;

/** The old generation's limit, from V8's heap_size_limit. */
const oldGenerationLimit = (heapSizeLimit: number) => Math.max(heapSizeLimit - YOUNG_GENERATION_BYTES, 0);

/** The heap in use above which `percent` of the old generation's limit is reached. */
export function pressureThreshold(heapSizeLimit: number, percent: number): number {
  return (oldGenerationLimit(heapSizeLimit) * percent) / 100;
}

/**
 * What a listed row holds while its page is built and sent: about 1 KiB stays reachable per user
 * as the store's row, the proto message and its JSON, and the garbage made on the way is at least
 * as much again (measured on ListUsers pages of a thousand).
 */
export const LISTED_ROW_BYTES = 4 * 2 ** 10;

/** The rows that pages in flight may hold: a quarter of the old generation's limit. */
export function rowBudget(heapSizeLimit: number): number {
  return Math.floor(oldGenerationLimit(heapSizeLimit) / 4 / LISTED_ROW_BYTES);
}

export class HeapPressure {
  private readonly threshold: number;
  private readonly rowsAllowed: number;
  private rowsInFlight = 0;

  /**
   * `percent` (1 to 100) of the old generation's limit in use turns the pressure on; `limit` is
   * V8's heap_size_limit.
   */
  constructor(percent: number, limit = getHeapStatistics().heap_size_limit) {
    this.threshold = pressureThreshold(limit, percent);
    this.rowsAllowed = rowBudget(limit);
  }

  /** The heap is above the threshold now. */
  get high(): boolean {
    return getHeapStatistics().used_heap_size > this.threshold;
  }

  /**
   * Room for a page of `rows`, given back by calling what is returned; undefined while the
   * pages in flight already hold the budget. The threshold alone is read as each call arrives,
   * so twenty pages of a thousand that arrive together all pass it before any has grown the
   * heap, and exhausted a 40 MiB heap (docs/guarantees.md, the ground drill). One page is
   * always let through, however large.
   */
  reserveRows(rows: number): (() => void) | undefined {
    if (this.rowsInFlight > 0 && this.rowsInFlight + rows > this.rowsAllowed) return undefined;
    this.rowsInFlight += rows;
    let held = true;
    return () => {
      if (held) this.rowsInFlight -= rows;
      held = false;
    };
  }
}
