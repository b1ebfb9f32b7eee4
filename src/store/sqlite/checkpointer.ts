/**
 * Checkpoints off the server's thread. SQLite's automatic checkpoint runs inside the COMMIT
 * that crosses its threshold: it writes the -wal file's pages into the database file and fsyncs
 * it, several times a second under load, and the event loop serves nobody meanwhile (measured in
 * bench/FINDINGS.md, "Earlier rounds", where checkpoints left the event loop). Here a
 * worker thread with a connection of its own checkpoints every INTERVAL_MS instead, and the
 * server's connection checkpoints itself only if the -wal file grows well past what the
 * worker lets accumulate (the worker fell behind, or died). With several server processes on the
 * file, one checkpointer is enough (a checkpoint covers every connection's commits): the
 * cluster's primary runs it, and the workers only keep the fallback.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import { ROOM_BYTES } from "./disk-full.js";

const INTERVAL_MS = 100;
/** Four times what the worker lets build up at 10,000 pages a second (SQLite's default: 1,000). */
const FALLBACK_PAGES = 4000;
const SQLITE_DEFAULT_PAGES = 1000;

/**
 * The worker, as source: plain JavaScript runs the same from the TypeScript sources (tests)
 * and from the build. A PASSIVE checkpoint waits for nobody: the server's connection keeps
 * reading and committing meanwhile. With `synchronous` at FULL or NORMAL on the connection
 * that checkpoints, SQLite syncs the -wal file before copying and the database file after;
 * FULL is set rather than trusting the build's default, and costs this connection nothing,
 * as it never commits.
 *
 * Under steady writes a PASSIVE checkpoint seldom catches the last commit, and SQLite starts the
 * -wal file over only after one did, so the file grows towards FALLBACK_PAGES. On a disk short of
 * room that growth filled the room a full-disk spell had freed, and the database file then had no
 * room to take the frames (docs/guarantees.md, the ground drill). So when the -wal file is larger
 * than half the room left, the worker asks the server's connection for a TRUNCATE checkpoint,
 * which copies every frame and empties the file. The server's connection runs it between two of
 * its transactions; the worker itself seldom caught the write lock between commits under load.
 * Half, because the checkpoint needs room too: the database file grows by the pages it lacks. It
 * holds up the event loop while it runs, which is why only on a disk short of room, and never
 * during a spell (no room at all): what fills the disk then is not the server.
 */
const WORKER = `
const { statfsSync, statSync } = require("node:fs");
const { dirname } = require("node:path");
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("synchronous = FULL");
const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const walBytes = () => {
  try {
    return statSync(workerData.file + "-wal").size;
  } catch {
    return 0;
  }
};
const room = () => {
  const { bavail, bsize } = statfsSync(dirname(workerData.file));
  return bavail * bsize;
};
// A checkpoint that finds the disk full changes nothing (the -wal file still holds every
// commit): the next one tries again. Any other failure ends the worker, and the server's
// connection takes the checkpoints over (startCheckpointer).
const timer = setInterval(() => {
  try {
    checkpoint.run();
    const free = room();
    if (free >= workerData.roomBytes && 2 * walBytes() > free) parentPort.postMessage("truncate");
  } catch (err) {
    if (!/^SQLITE_(FULL|IOERR)/.test(String(err.code))) throw err;
  }
}, workerData.intervalMs);
parentPort.once("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** For a process whose commits the file's owner checkpoints: only the fallback. */
export function leaveCheckpointsToOwner(sqlite: Database.Database): () => Promise<void> {
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
  return async () => undefined;
}

/** Starts checkpointing `file` in the background; the result stops it (before the connection closes). */
export function startCheckpointer(sqlite: Database.Database, file: string): () => Promise<void> {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER, { eval: true, workerData: { driver, file, intervalMs: INTERVAL_MS, roomBytes: ROOM_BYTES } });
  worker.unref();
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.on("message", () => {
    try {
      if (sqlite.open) sqlite.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // One that fails (still no room for the database file to grow) changes nothing: the worker asks again.
    }
  });
  worker.once("error", () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  });
  return () => {
    worker.ref(); // until it has closed its connection: a caller may be awaiting this as the last thing
    worker.postMessage("stop");
    return exited;
  };
}
