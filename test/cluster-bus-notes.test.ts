/**
 * A worker's "committed" notes (cluster-bus.ts, tellSoon): however many commits a turn has, the
 * other workers get one note, and no sooner than NOTE_GAP_MS after the last; a note is never
 * dropped, only held.
 */
import { describe, expect, it } from "vitest";
import { NOTE_GAP_MS, WorkerBus, type Note } from "../src/cluster-bus.js";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A bus whose notes are recorded instead of sent to the primary. */
function recordingBus(): { bus: WorkerBus; told: Note[] } {
  const told: Note[] = [];
  const bus = new WorkerBus(() => undefined);
  bus.tell = (note) => void told.push(note);
  return { bus, told };
}

describe("cluster bus: notes told soon", () => {
  it("tells a turn's notes of one kind once, at the end of the turn", async () => {
    const { bus, told } = recordingBus();
    for (let i = 0; i < 5; i++) bus.tellSoon({ note: "committed" });
    expect(told).toEqual([]);
    await nextTurn();
    expect(told).toEqual([{ note: "committed" }]);
  });

  it("holds the next note until the gap has passed, then tells it once", async () => {
    const { bus, told } = recordingBus();
    bus.tellSoon({ note: "committed" });
    await nextTurn();
    const first = performance.now();
    bus.tellSoon({ note: "committed" });
    await nextTurn();
    bus.tellSoon({ note: "committed" });
    expect(told).toHaveLength(1);
    while (told.length < 2) await sleep(NOTE_GAP_MS / 4);
    expect(performance.now() - first).toBeGreaterThanOrEqual(NOTE_GAP_MS - 1);
    await sleep(NOTE_GAP_MS * 2);
    expect(told).toHaveLength(2);
  });

  it("keeps kinds apart: one kind's gap does not hold another's note", async () => {
    const { bus, told } = recordingBus();
    bus.tellSoon({ note: "committed" });
    await nextTurn();
    bus.tellSoon({ note: "streamsChanged" });
    await nextTurn();
    expect(told.map((n) => n.note)).toEqual(["committed", "streamsChanged"]);
  });
});
