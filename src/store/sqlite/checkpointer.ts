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
 * -wal file over only after one did: the file grows until the server's fallback (FALLBACK_PAGES,
 * 16 MiB) and keeps that size. On a disk short of room that growth was what filled it: in the
 * ground drill (8 MiB tmpfs, 50 users, drill/ground-disk.ts) the -wal file was 3.7 MiB when the
 * filler took the rest, and once the filler was removed it grew by 2.7 MiB in 3 s and filled the
 * disk again; with its frames not yet copied the database file could not grow for the checkpoint,
 * so nothing could free the room and writes stayed refused. So when the -wal file is larger than
 * half the room left beside it, the worker asks the server's connection for a TRUNCATE checkpoint,
 * which copies every frame and empties the file, giving its room back. The server's connection
 * runs it between two transactions, where it waits for nobody; run by the worker it had to catch
 * the write lock between the server's commits, and under the drill's load (50 users) it did not
 * catch it often enough: the disk filled again all the same. Half, not all of it: the checkpoint
 * needs room too, as the database file grows by the pages the -wal file holds that it lacks, most
 * of them under a load of new events (asked at all of it, the drill filled twice). It holds up
 * the event loop for as long as it takes, which is why only then: where the disk has room this
 * never happens. Not while the disk shows no room at all (a spell, disk-full.ts): what fills it
 * then is not the server, and would take the room given back at once, ending and starting the
 * spell again.
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
