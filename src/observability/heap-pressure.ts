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

/** The heap in use above which `percent` of the old generation's limit is reached. */
export function pressureThreshold(heapSizeLimit: number, percent: number): number {
  return (Math.max(heapSizeLimit - YOUNG_GENERATION_BYTES, 0) * percent) / 100;
}

export class HeapPressure {
  private readonly threshold: number;

  /** `percent` (1 to 100) of the old generation's limit in use turns the pressure on. */
  constructor(percent: number) {
    this.threshold = pressureThreshold(getHeapStatistics().heap_size_limit, percent);
  }

  /** The heap is above the threshold now. */
  get high(): boolean {
    return getHeapStatistics().used_heap_size > this.threshold;
  }
}
