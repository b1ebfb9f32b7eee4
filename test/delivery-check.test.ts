/**
 * The delivery drill's verdict (drill/delivery-check.ts) on arrivals made up here: a drill whose
 * receivers got everything right passes, and each way a delivery can go wrong is named.
 */
import { describe, expect, it } from "vitest";
import type { Arrival } from "../drill/delivery-arrivals.js";
import { checkReceiver, type Kill, type LoggedEvent } from "../drill/delivery-check.js";

const SIGNALS: Record<string, string[]> = { "user.locked": ["disabled", "revoked"], "user.unlocked": ["enabled"] };
const EVENTS: LoggedEvent[] = [
  { userId: "u1", sequence: 2, type: "user.locked" },
  { userId: "u1", sequence: 3, type: "user.unlocked" },
  { userId: "u2", sequence: 2, type: "user.locked" },
];
const window = { beforeKillMs: 100, afterKillMs: 100 };

/** The arrival of a signal, its id derived the way a transmitter derives a jti: one per signal. */
const arrival = (userId: string, sequence: number, signal: string, at: number, sender?: string): Arrival => ({ key: `${userId}/${sequence}/${signal}`, userId, sequence, signal, at, sender });

const ALL_IN_ORDER = [
  arrival("u1", 2, "disabled", 10),
  arrival("u2", 2, "disabled", 11),
  arrival("u1", 2, "revoked", 12),
  arrival("u2", 2, "revoked", 13),
  arrival("u1", 3, "enabled", 14),
];

function verdict(arrivals: Arrival[], kills: Kill[] = []) {
  const violations: string[] = [];
  const figures = checkReceiver({ name: "r", arrivals, signalsOf: (type) => SIGNALS[type] ?? [], window }, EVENTS, kills, violations);
  return { violations, figures };
}

describe("the delivery drill's verdict", () => {
  it("passes every signal once, each user's in commit order, whatever the order between users", () => {
    expect(verdict(ALL_IN_ORDER)).toEqual({ violations: [], figures: { arrivals: 5, distinct: 5, repeats: 0, repeatsAfterKill: 0 } });
  });

  it("names a signal that never arrived", () => {
    expect(verdict(ALL_IN_ORDER.slice(0, 4)).violations).toEqual(["r: enabled of u1#3 (user.unlocked) never arrived"]);
  });

  it("names an arrival for an event not in the log, or a signal its event does not cause", () => {
    const { violations } = verdict([...ALL_IN_ORDER, arrival("u2", 3, "enabled", 20), arrival("u1", 3, "disabled", 21)]);
    expect(violations).toEqual(["r: enabled arrived for u2#3, which committed nothing", "r: disabled arrived for u1#3, which committed user.unlocked"]);
  });

  it("names a user's signal that first arrived after a later one", () => {
    const swapped = [ALL_IN_ORDER[0]!, ALL_IN_ORDER[1]!, ALL_IN_ORDER[4]!, ALL_IN_ORDER[3]!, ALL_IN_ORDER[2]!];
    expect(verdict(swapped).violations).toEqual(["r: u1: revoked #2 first arrived after enabled #3"]);
  });

  it("takes a repeat with the same id around a kill, and names one with no kill to explain it", () => {
    const repeat = { ...ALL_IN_ORDER[0]!, at: 30 };
    expect(verdict([...ALL_IN_ORDER, repeat], [{ at: 12, instance: "a" }])).toEqual({ violations: [], figures: { arrivals: 6, distinct: 5, repeats: 1, repeatsAfterKill: 1 } });
    expect(verdict([...ALL_IN_ORDER, repeat]).violations).toEqual(["r: u1:2:disabled arrived again 20 ms after its earlier copy with no kill to explain it"]);
    // The earlier copy arrived too long before the kill, or the repeat before it.
    expect(verdict([...ALL_IN_ORDER, repeat], [{ at: 500, instance: "a" }]).violations).toHaveLength(1);
    expect(verdict([...ALL_IN_ORDER, repeat], [{ at: 40, instance: "a" }]).violations).toHaveLength(1);
  });

  it("names a repeat whose earlier copy came from the instance that was not killed", () => {
    const sent = ALL_IN_ORDER.map((a) => ({ ...a, sender: "b" }));
    const repeat = { ...sent[0]!, at: 30, sender: "a" };
    expect(verdict([...sent, repeat], [{ at: 12, instance: "b" }]).violations).toEqual([]);
    expect(verdict([...sent, repeat], [{ at: 12, instance: "a" }]).violations).toEqual([
      "r: u1:2:disabled arrived again 20 ms after its earlier copy (sent by b) with no kill to explain it",
    ]);
  });

  it("names a signal that came again with another id, and an id that came with two signals", () => {
    const kill: Kill = { at: 12, instance: "a" };
    expect(verdict([...ALL_IN_ORDER, { ...ALL_IN_ORDER[0]!, at: 30, key: "other" }], [kill]).violations).toEqual([
      "r: u1:2:disabled came with id u1/2/disabled, then with id other",
    ]);
    expect(verdict([...ALL_IN_ORDER.slice(0, 4), { ...ALL_IN_ORDER[4]!, key: "u1/2/disabled" }]).violations).toEqual([
      "r: id u1/2/disabled came with u1:2:disabled and with u1:3:enabled",
    ]);
  });
});
