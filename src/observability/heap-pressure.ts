/**
 * Whether the V8 heap is close to its limit (--max-old-space-size, or V8's default), so that the
 * server refuses new calls and streams (ResourceExhausted) rather than grow until V8 aborts it
 * and every call in flight is lost. The heap is read on a timer: the check on each call's path is
 * one comparison of a boolean, where a getHeapStatistics() per call would cost microseconds.
 */
import { getHeapStatistics } from "node:v8";

/** Often enough that a burst of calls meets a fresh reading, rarely enough to cost nothing. */
const SAMPLE_MS = 50;

export class HeapPressure {
  private over = false;
  private readonly timer: NodeJS.Timeout | undefined;

  /** `percent` of heap_size_limit in use turns the pressure on; 0 never does. */
  constructor(percent: number) {
    if (percent === 0) return;
    const threshold = (getHeapStatistics().heap_size_limit * percent) / 100;
    this.timer = setInterval(() => {
      this.over = getHeapStatistics().used_heap_size > threshold;
    }, SAMPLE_MS);
    this.timer.unref();
  }

  /** The heap was above the threshold at the last reading. */
  get high(): boolean {
    return this.over;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
