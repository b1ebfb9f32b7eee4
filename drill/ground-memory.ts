/**
 * The server near its memory limit (issue 25): started with a small --max-old-space-size, with
 * many users listed (a page of a thousand at a time), watched (streams that read, and streams
 * that stop reading) and locked and unlocked all at once. It must shed load with
 * ResourceExhausted rather than die; if it dies anyway, the crash drill's check after a restart
 * must hold (verify-after-crash.ts). `npm run drill:ground` and test/ground-memory.test.ts run it.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport, userClient, type Protocol } from "../test/support/clients.js";
import { addHuman } from "../test/support/fixtures.js";
import { startServer, type TestServer } from "../test/support/server.js";
import { acknowledgedCount, startLoad, type DrillUser } from "./lock-unlock-load.js";
import { kill, track, within } from "./servers.js";
import { verifyAfterCrash } from "./verify-after-crash.js";

export interface MemoryOptions {
  users: number;
  /** Concurrent loops of ListUsers over a page of a thousand. */
  listers: number;
  /** Watch streams; every other one stops reading after its first message. */
  watchers: number;
  runMs: number;
  heapMiB: number;
  /** MEMORY_SHED_PERCENT for the server (its default unless given). */
  shedPercent?: number;
}

export interface MemoryReport {
  /** How the server ended the run: "alive", or its exit code or signal. */
  ended: string;
  acknowledged: number;
  /**
   * Locks and unlocks whose 10 s deadline passed (the heap near its limit slows every call): their
   * outcome is decided by the check of the event log after the run, as a killed call's is.
   */
  late: number;
  /** Calls answered ResourceExhausted, by kind. */
  shed: { writes: number; lists: number; watches: number };
  lists: number;
  /** ListUsers calls that failed otherwise than shed (cut at the run's end, or by a death). */
  listsFailed: number;
  /** Watch streams that ended with ResourceExhausted (the slow ones' buffer bound), or otherwise. */
  watchesEnded: { exhausted: number; other: number };
  peakRssMiB: number;
  /** The most V8 heap in use the server's /metrics showed (nodejs_heap_size_used_bytes). */
  peakHeapMiB: number;
  violations: string[];
}

const exhausted = (err: unknown) => err instanceof ConnectError && err.code === Code.ResourceExhausted;
const PAUSE_MS = 20;

function rssMiB(pid: number): number {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** What the server's /metrics says of its heap in use; 0 if it does not answer. */
async function heapUsedMiB(server: TestServer): Promise<number> {
  try {
    const text = await (await fetch(`${server.baseUrl}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    return Math.round(Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0) / 2 ** 20);
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A watch stream until `stop` aborts it; a slow one reads its first message and no more. */
async function watch(records: ReturnType<typeof recordsOf>, slow: boolean, stop: AbortSignal, report: MemoryReport): Promise<void> {
  let started = false;
  try {
    const stream = records.watchUserEvents({}, { signal: stop })[Symbol.asyncIterator]();
    await stream.next();
    started = true;
    if (slow) await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
    else while (!(await stream.next()).done);
  } catch (err) {
    if (stop.aborted) return;
    if (exhausted(err) && !started) report.shed.watches++;
    else if (exhausted(err)) report.watchesEnded.exhausted++;
    else report.watchesEnded.other++;
  }
}

/**
 * gRPC, at most PER_CONNECTION calls in flight on each HTTP/2 connection (a client of its own):
 * beyond the server's 100 streams a connection (MAX_CONCURRENT_STREAMS) the calls would wait in
 * the client, and over HTTP/1.1 a thousand connections opened at once overflow the listen
 * backlog; either way the drill would measure its own queue rather than the server (both seen).
 */
const PROTOCOL: Protocol = "grpc";
const PER_CONNECTION = 50;

const inGroups = <T>(items: T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / PER_CONNECTION) }, (_, i) => items.slice(i * PER_CONNECTION, (i + 1) * PER_CONNECTION));

const recordsOf = (server: TestServer) => createClient(UserRecordService, transport(PROTOCOL, server.baseUrl, server.adminToken));

export async function runMemoryPressure(options: MemoryOptions): Promise<MemoryReport> {
  const report: MemoryReport = {
    ended: "alive",
    acknowledged: 0,
    late: 0,
    shed: { writes: 0, lists: 0, watches: 0 },
    lists: 0,
    listsFailed: 0,
    watchesEnded: { exhausted: 0, other: 0 },
    peakRssMiB: 0,
    peakHeapMiB: 0,
    violations: [],
  };
  const env = {
    NODE_OPTIONS: `--max-old-space-size=${options.heapMiB}`,
    ...(options.shedPercent === undefined ? {} : { MEMORY_SHED_PERCENT: String(options.shedPercent) }),
  };
  const server = track(await startServer({ env }));
  try {
    const client = userClient(PROTOCOL, server.baseUrl, server.adminToken);
    const ids: string[] = [];
    // ACTIVE users (as the crash drill's check expects), their password imported as a hash.
    while (ids.length < options.users) ids.push(...(await Promise.all(Array.from({ length: Math.min(100, options.users - ids.length) }, () => addHuman(client)))));
    const users: DrillUser[] = ids.map((id) => ({ id, protocol: PROTOCOL, changes: [], locked: false, sequence: 1 }));

    const stop = new AbortController();
    const watches = inGroups(Array.from({ length: options.watchers }, (_, i) => i)).flatMap((group) => {
      const records = recordsOf(server);
      return group.map((i) => watch(records, i % 2 === 1, stop.signal, report).catch(() => undefined));
    });
    // Over HTTP/1.1, a connection each: 20 lists of a thousand on one gRPC connection under this
    // load were not answered within 10 s in any run (not explained yet; left for a look).
    const lister = userClient("connect-json", server.baseUrl, server.adminToken);
    const lists = Array.from({ length: options.listers }, async () => {
      while (!stop.signal.aborted) {
        try {
          await lister.listUsers({ query: { limit: 1000 } }, { signal: stop.signal });
          report.lists++;
        } catch (err) {
          if (exhausted(err)) report.shed.lists++;
          else if (!stop.signal.aborted) report.listsFailed++;
          await sleep(PAUSE_MS);
        }
      }
    });
    // A failure other than shedding is a violation while the server lives, and a call cut by
    // its death otherwise (settled by the check after the restart).
    const loadFailures: string[] = [];
    const loads = inGroups(users).map((group) => startLoad(group, server, loadFailures, {
      expected: (err) => {
        if (!exhausted(err)) return false;
        report.shed.writes++;
        return true;
      },
      pauseMs: PAUSE_MS,
      unknown: (err) => {
        if (!(err instanceof ConnectError && err.code === Code.DeadlineExceeded)) return false;
        report.late++;
        return true;
      },
    }));
    const ends = performance.now() + options.runMs;
    while (performance.now() < ends && alive(server.pid())) {
      report.peakRssMiB = Math.max(report.peakRssMiB, rssMiB(server.pid()));
      report.peakHeapMiB = Math.max(report.peakHeapMiB, await heapUsedMiB(server));
      await sleep(100);
    }
    for (const load of loads) load.halt();
    stop.abort();
    const lived = alive(server.pid());
    await within(30_000, "the load's end", Promise.all([...loads.map((load) => load.done), ...lists, ...watches]));
    if (lived) report.violations.push(...loadFailures);
    else {
      report.ended = /heap out of memory/i.test(server.output()) ? "died: heap out of memory" : "died";
      await server.restart();
    }
    await within(60_000, "the check of the event log", verifyAfterCrash(server, users, report.violations));
    report.acknowledged = acknowledgedCount(users);
  } catch (err) {
    report.violations.push(`the drill stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await kill(server).catch(() => undefined);
  }
  return report;
}
