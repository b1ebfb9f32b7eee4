/** User, organization and session ids (src/security/ids.ts). */
import { describe, expect, it } from "vitest";
import { newId } from "../src/security/ids.js";

describe("newId", () => {
  it("never repeats within a process, even for ids of the same millisecond", () => {
    const now = Date.UTC(2026, 10, 23, 6, 0, 0);
    // With 22 random bits instead of a counter, 100,000 draws repeat about 1,200 times.
    const ids = new Set(Array.from({ length: 100_000 }, () => newId(now)));
    expect(ids.size).toBe(100_000);
  });

  it("is 18 decimal digits that order by creation time", () => {
    const earlier = newId(Date.UTC(2026, 0, 1));
    const later = newId(Date.UTC(2026, 0, 1) + 1);
    expect(earlier).toMatch(/^\d{18}$/);
    expect(later).toMatch(/^\d{18}$/);
    expect(BigInt(later)).toBeGreaterThan(BigInt(earlier));
  });
});
