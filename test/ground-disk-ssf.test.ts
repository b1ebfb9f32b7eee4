/**
 * The SSF transmitter's tables on a full disk (src/store/sqlite/sqlite-ssf-store.ts): a write that
 * finds no room is refused as Unavailable saying the disk is full (no SQL, no path), as a user's
 * write is, within the store's one spell; once space is freed the same write commits. Before,
 * SQLite's own SQLITE_FULL came out, which the server answered and logged as an internal error.
 * Skipped, saying why, where a tmpfs cannot be mounted (not root).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mountTmpfs } from "../drill/tmpfs.js";
import { POLL } from "../src/domain/ssf/event-types.js";
import type { SsfStream } from "../src/domain/ssf/stream.js";
import { DISK_FULL } from "../src/store/sqlite/disk-full.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";

/** More than the -wal file can take without growing: the write needs room the disk no longer has. */
const BIG = "x".repeat(600 * 1024);
const T = new Date(Date.UTC(2030, 0, 1));

const pollStream = (id: string): SsfStream => ({
  id,
  receiverId: id,
  aud: id,
  delivery: { method: POLL },
  eventsDelivered: [],
  format: "iss_sub",
  defaultSubjects: "ALL",
  status: "enabled",
  createdAt: T,
  updatedAt: T,
});

describe("the SSF tables on a full disk under SQLite", () => {
  it("refuse a write as Unavailable within one spell, and take it once space is freed", { timeout: 30_000 }, async (ctx) => {
    const disk = mountTmpfs(4 * 1024);
    if ("refused" in disk) return ctx.skip(disk.refused);
    const spells: string[] = [];
    const store = openSqliteStore(join(disk.dir, "zitadel.db"), { diskFull: { began: () => spells.push("began"), ended: () => spells.push("ended") } });
    try {
      await store.ssf.insertStream(pollStream("stream-a"));
      disk.fill();
      const writes = {
        queued: () => store.ssf.queueSets("stream-a", [{ jti: "jti-1", kid: "kid-1", set: BIG }], T),
        status: () => store.ssf.setStreamStatus("stream-a", "paused", BIG, T),
        inserted: () => store.ssf.insertStream({ ...pollStream("stream-b"), description: BIG }),
      };
      for (const write of Object.values(writes)) {
        await expect(write()).rejects.toMatchObject({ name: "DomainError", kind: "Unavailable", message: DISK_FULL });
      }
      expect(spells).toEqual(["began"]);

      disk.free();
      for (const write of Object.values(writes)) await write();
      expect(spells).toEqual(["began", "ended"]);
      expect((await store.ssf.queuedSets("stream-a", 10)).map((s) => s.jti)).toEqual(["jti-1"]);
      expect((await store.ssf.getStream("stream-a"))?.status).toBe("paused");
      expect((await store.ssf.getStream("stream-b"))?.description).toBe(BIG);
    } finally {
      await store.close();
      disk.unmount();
    }
  });
});
