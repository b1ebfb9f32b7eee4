/**
 * Scenario `bulk` of bench/run.ts (issue 21): the time of one BulkLockUsers call locking 1,000
 * users against the time of 1,000 single LockUser calls from `connections` connections, in the
 * same run on the same server, over Connect JSON (bench/load-bulk.ts, pinned to core 1). Every
 * measurement locks 1,000 seeded users no measurement touched before; the rounds alternate which
 * of the two goes first, and one unmeasured round of 200 users each warms the server up.
 * Target: bulk ≤ 2× the singles' time.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runNodeLoad } from "./load.js";
import { machine, median, pass, round, table, writeResult } from "./report.js";
import { seededDatabase } from "./seeded-database.js";
import { cpuSeconds, memoryMiB, startServer, type Backend, type RunningServer } from "./server.js";

export interface BulkOptions {
  backend: Backend;
  rounds: number;
  connections: number;
  /** The server's environment beyond the bench's own (RPC_FAST_PATH). */
  env: NodeJS.ProcessEnv;
  /** The results file's suffix: bench/results/bulk-<name>.json. */
  name: string;
  command: string;
  log(msg: string): void;
  print(title: string, text: string): void;
}

const BULK_SIZE = 1000;
const WARMUP_SIZE = 200;
const REASON = "bench: compromised";
type Mode = "bulk" | "singles";

interface Measurement {
  ms: number;
  serverCpuS: number;
}


export async function bulk(o: BulkOptions): Promise<void> {
  const { db, port, ids } = await seededDatabase(o.backend, 2 * (WARMUP_SIZE + o.rounds * BULK_SIZE), o.env, o.log, "bulk");
  let server: RunningServer | undefined;
  try {
    server = await startServer(db, port, o.env);
    const running = server;
    let used = 0;
    /** Locks the next `count` untouched users one way; the time and the server's CPU it took. */
    const measure = async (mode: Mode, count: number): Promise<Measurement> => {
      const idsFile = join(db.dataDir, `bulk-${used}.txt`);
      writeFileSync(idsFile, `${ids.slice(used, used + count).join("\n")}\n`);
      used += count;
      const cpu0 = cpuSeconds(running.pid);
      const out = await runNodeLoad<{ elapsedMs: number; locked: number; firstError?: string }>(
        "load-bulk.ts",
        { url: running.baseUrl, token: running.token, idsFile, mode, connections: o.connections, reason: REASON },
        120,
      );
      if (out.locked !== count) throw new Error(`bulk: ${mode} locked ${out.locked} of ${count} users: ${out.firstError}`);
      return { ms: round(out.elapsedMs), serverCpuS: round(cpuSeconds(running.pid) - cpu0, 2) };
    };

    await measure("bulk", WARMUP_SIZE);
    await measure("singles", WARMUP_SIZE);
    const rounds: Record<Mode, Measurement>[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      // Alternating who goes first, so that neither always runs in the other's wake.
      const order: Mode[] = r % 2 === 1 ? ["bulk", "singles"] : ["singles", "bulk"];
      const result = {} as Record<Mode, Measurement>;
      for (const mode of order) result[mode] = await measure(mode, BULK_SIZE);
      rounds.push(result);
      o.log(`bulk: round ${r}: one call ${result.bulk.ms} ms, ${BULK_SIZE} calls ${result.singles.ms} ms (ratio ${round(result.bulk.ms / result.singles.ms, 2)})`);
    }
    const mem = memoryMiB(server.pid);

    const bulkMs = median(rounds.map((r) => r.bulk.ms));
    const singlesMs = median(rounds.map((r) => r.singles.ms));
    const ratio = round(bulkMs / singlesMs, 2);
    const rows = rounds.map((r, i) => [i + 1, r.bulk.ms, r.singles.ms, round(r.bulk.ms / r.singles.ms, 2), `${r.bulk.serverCpuS} / ${r.singles.serverCpuS}`]);
    rows.push(["median", bulkMs, singlesMs, ratio, pass(ratio <= 2)]);
    o.print(
      `Bulk lock (${o.backend}): one BulkLockUsers of ${BULK_SIZE} users against ${BULK_SIZE} LockUser calls from ${o.connections} connections, Connect JSON, fresh users each`,
      table(["round", "bulk ms", "singles ms", "bulk ÷ singles (≤ 2)", "server CPU s, bulk / singles"], rows),
    );
    o.log(
      `wrote ${writeResult("bulk", o.name, {
        command: o.command,
        date: new Date().toISOString(),
        machine: machine(),
        settings: { backend: o.backend, rounds: o.rounds, connections: o.connections, users: BULK_SIZE, warmupUsers: WARMUP_SIZE, env: o.env },
        how: "bench/bulk.ts + bench/load-bulk.ts: Connect JSON over node:http keep-alive, taskset -c 1; each measurement on 1,000 users no other touched",
        rounds,
        medianMs: { bulk: bulkMs, singles: singlesMs },
        ratio,
        serverMemoryMiBAtEnd: mem,
        target: "one BulkLockUsers of 1,000 users ≤ 2× the time of 1,000 single LockUser calls from 64 connections",
      })}`,
    );
  } finally {
    await server?.stop();
    await db.drop();
  }
}
