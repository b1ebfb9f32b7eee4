/**
 * The shedding threshold is a percent of the old generation's limit, which V8's heap_size_limit
 * exceeds by the young generation's reserve: held here against the Node that runs the tests, so
 * that a Node whose V8 sizes it otherwise fails this test rather than leaving the shedding dead.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HeapPressure, pressureThreshold, rowBudget, YOUNG_GENERATION_BYTES } from "../src/observability/heap-pressure.js";

const MiB = 2 ** 20;

function heapSizeLimit(maxOldSpaceMiB: number): number {
  const out = execFileSync(process.execPath, [`--max-old-space-size=${maxOldSpaceMiB}`, "-p", "require('v8').getHeapStatistics().heap_size_limit"]);
  return Number(String(out).trim());
}

describe("heap pressure threshold", () => {
  it.each([40, 96, 512])("with --max-old-space-size=%i is the percent of that limit", (mib) => {
    const limit = heapSizeLimit(mib);
    expect(limit - YOUNG_GENERATION_BYTES).toBe(mib * MiB);
    expect(pressureThreshold(limit, 85)).toBe(mib * MiB * 0.85);
  });
});

describe("the budget of listed rows", () => {
  const limit40 = 40 * MiB + YOUNG_GENERATION_BYTES;

  it("is a quarter of the old generation's limit at 4 KiB a row", () => {
    expect(rowBudget(limit40)).toBe(2560);
    expect(rowBudget(96 * MiB + YOUNG_GENERATION_BYTES)).toBe(6144);
  });

  it("lets pages in while they fit, refuses the next, and takes it once room is given back", () => {
    const heap = new HeapPressure(85, limit40);
    const first = heap.reserveRows(1000);
    const second = heap.reserveRows(1000);
    expect(first).toBeTypeOf("function");
    expect(second).toBeTypeOf("function");
    expect(heap.reserveRows(1000)).toBeUndefined();
    expect(heap.reserveRows(500)).toBeTypeOf("function");
    first!();
    first!();
    expect(heap.reserveRows(1000), "room given back once, not twice").toBeTypeOf("function");
    expect(heap.reserveRows(1000)).toBeUndefined();
  });

  it("always lets one page through, however large", () => {
    const heap = new HeapPressure(85, 8 * MiB + YOUNG_GENERATION_BYTES);
    const page = heap.reserveRows(1000);
    expect(page).toBeTypeOf("function");
    expect(heap.reserveRows(1)).toBeUndefined();
    page!();
    expect(heap.reserveRows(1)).toBeTypeOf("function");
  });
});
