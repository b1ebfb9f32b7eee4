/**
 * The shedding threshold is a percent of the old generation's limit, which V8's heap_size_limit
 * exceeds by the young generation's reserve: held here against the Node that runs the tests, so
 * that a Node whose V8 sizes it otherwise fails this test rather than leaving the shedding dead.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { pressureThreshold, YOUNG_GENERATION_BYTES } from "../src/observability/heap-pressure.js";

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
