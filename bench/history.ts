/**
 * Scenario "history" (issue 21: history p99 ≤ 20 ms with 1,000,000 users and 10 events each).
 *
 * The data: bench/history-seed.ts into a SQLite file or a PostgreSQL database, made once and kept
 * between runs (SQLite's file and the seed's ids and admin token in BENCH_CACHE_DIR, default
 * $TMPDIR/zus-bench-cache; PostgreSQL's database on the benchmark's server), named by the
 * backend, the users and a hash of everything that decides its rows (migrations, schema, domain,
 * write plan, the seeding code): seeding a million users takes minutes, and the measurement only
 * reads. A new hash seeds anew and removes the older data of that size.
 *
 * The measurement, over each protocol, random users, a fixed number of connections, first in a
 * closed loop and then at a fixed rate (measureHistory): the first page of ListUserEvents (page
 * size 50: all ten events), a second page read with a token (bench/history-calls.ts), and
 * GetUserByID on the same users as the same-run reference (the same server, authentication and
 * one indexed lookup, without the events). The three alternate in rounds, the order turning
 * each round; each round gives the history's p99 as a ratio of GetUserByID's in that round,
 * which this machine's drift moves less than the figures.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENTS_PER_USER, seedHistory } from "./history-seed.js";
import type { HistoryOp } from "./history-calls.js";
import { median, pass, table, writeResult, type Latency } from "./report.js";
import { readInstance, type Instance, type SeedResult } from "./seed.js";
import { freePort, onPostgres, postgresUrl, ROOT, startServer, type Backend, type Database } from "./server.js";

export type HistoryMeasure = "get" | HistoryOp;
const MEASURES: HistoryMeasure[] = ["get", "history", "historyNext"];
const NAMES: Record<HistoryMeasure, string> = {
  get: "GetUserByID (reference)",
  history: "ListUserEvents, first page (size 50: 10 events)",
  historyNext: "ListUserEvents, second page (size 5, with a token)",
};
const TARGET_P99_MS = 20;
/** Calls a second of the fixed-rate rounds: well under the maximum of each call even on a busy machine. */
const FIXED_RATE = 200;

/** What one measurement gives (run.ts's Measured has these and more). */
export interface HistoryMeasured {
  rps: number;
  ok: number;
  errors: number;
  latencyMs: Latency;
  serverCpuCores: number;
  /** The server's own timing of the same calls (bench/server-metrics.ts). */
  server: { within10msShare: number; p99AtMostMs: number };
  firstError?: string;
}

/** The seeded data, ready for a server: its file, who made it, the users' ids and how long seeding took. */
export interface HistoryData {
  db: Database;
  instance: Instance;
  seed: SeedResult & { cached: boolean; seededAt: string };
  idsFile: string;
}

/** Files and folders whose content decides the seeded rows of `backend`. */
const rowSources = (backend: Backend) => [
  `drizzle/${backend}`,
  "src/domain",
  "src/app/user-events.ts",
  "src/store/write-plan.ts",
  "src/store/user-rows.ts",
  `src/store/${backend}/schema.ts`,
  "bench/seed.ts",
  "bench/history-seed.ts",
];

function sourcesHash(backend: Backend): string {
  const hash = createHash("sha256");
  const add = (path: string) => {
    if (statSync(join(ROOT, path)).isDirectory()) {
      for (const name of readdirSync(join(ROOT, path)).sort()) add(join(path, name));
      return;
    }
    hash.update(`${path}\0`).update(readFileSync(join(ROOT, path))).update("\0");
  };
  for (const path of rowSources(backend)) add(path);
  return hash.digest("hex").slice(0, 16);
}

const cacheDir = () => process.env.BENCH_CACHE_DIR || join(tmpdir(), "zus-bench-cache");

/**
 * Where the data named `name` lives: SQLite's file in its folder; PostgreSQL's database of the
 * same name, the folder keeping the rest (admin token, ids, seed.json). Kept as they are: nothing
 * drops them after a run.
 */
function cachedDatabase(backend: Backend, dir: string, name: string): Database {
  const url = backend === "sqlite" ? join(dir, "zitadel.db") : postgresUrl(name);
  return { backend, url, dataDir: dir, drop: async () => undefined };
}

/** Names of the PostgreSQL databases of earlier history seeds whose names start with `prefix`. */
async function pgDatabases(prefix: string): Promise<string[]> {
  const rows = await onPostgres("select datname from pg_database where starts_with(datname, $1)", [prefix]);
  return rows.map((row) => String(row.datname));
}

/**
 * The database of `users` seeded users: the cached one if its hash is current, else a new one
 * (first start of the server for migrations, organization and admin; then the seed), which
 * replaces the older ones of that size.
 */
export async function historyData(backend: Backend, users: number, log: (msg: string) => void): Promise<HistoryData> {
  const root = cacheDir();
  const prefix = `history_${backend}_${users}_`;
  const name = `${prefix}${sourcesHash(backend)}`;
  const dir = join(root, name);
  const present = existsSync(join(dir, "seed.json")) && (backend === "sqlite" || (await pgDatabases(name)).includes(name));
  if (!present) {
    const building = `${dir}.partial`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const db = cachedDatabase(backend, building, name);
    if (backend === "postgres") {
      await onPostgres(`drop database if exists ${name} with (force)`);
      await onPostgres(`create database ${name}`);
    }
    const first = await startServer(db, await freePort());
    await first.stop();
    const instance = await readInstance(backend, db.url);
    log(`history: seeding ${users} users with ${EVENTS_PER_USER} events each into ${db.url}`);
    const seed = await seedHistory(backend, db.url, instance, users);
    log(`history: seeded in ${seed.seconds.toFixed(1)} s (${Math.round(seed.usersPerS)} users/s)`);
    writeFileSync(join(building, "ids.txt"), `${seed.ids.join("\n")}\n`);
    writeFileSync(join(building, "seed.json"), `${JSON.stringify({ ...seed, ids: undefined, instance, seededAt: new Date().toISOString() }, null, 2)}\n`);
    // The same size seeded from older sources: of no more use.
    const older = (entry: string) => entry.startsWith(prefix) && entry !== name && entry !== `${name}.partial`;
    for (const entry of readdirSync(root)) if (older(entry)) rmSync(join(root, entry), { recursive: true, force: true });
    if (backend === "postgres") for (const old of (await pgDatabases(prefix)).filter(older)) await onPostgres(`drop database if exists ${old} with (force)`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
  } else {
    log(`history: the seeded database of ${users} users is cached: ${cachedDatabase(backend, dir, name).url}`);
  }
  const { instance, seededAt, ...seed } = JSON.parse(readFileSync(join(dir, "seed.json"), "utf8")) as SeedResult & { instance: Instance; seededAt: string };
  const idsFile = join(dir, "ids.txt");
  return { db: cachedDatabase(backend, dir, name), instance, seed: { ...seed, ids: [], cached: present, seededAt }, idsFile };
}

export interface HistoryRun<P extends string> {
  users: number;
  protocols: readonly P[];
  rounds: number;
  connections: number;
  data: HistoryData;
  /** One measurement of `op` over `protocol`: a closed loop, or `rate` calls a second on a schedule. */
  measure(protocol: P, op: HistoryMeasure, rate?: number): Promise<HistoryMeasured>;
  log(msg: string): void;
  print(title: string, text: string): void;
  /** The results file's header (command, date, machine, settings). */
  header(): object;
  /** Names the RPC path in titles and in the results file's name, when the run names paths. */
  tag: string;
  fileSuffix: string;
}

type Rounds = Record<HistoryMeasure, HistoryMeasured[]>;

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The rounds of each call, in alternating order (each round starts with the next call). */
async function measureRounds<P extends string>(run: HistoryRun<P>, p: P, rate?: number): Promise<Rounds> {
  const rounds: Rounds = { get: [], history: [], historyNext: [] };
  for (let r = 0; r < run.rounds; r++) {
    for (let k = 0; k < MEASURES.length; k++) {
      const op = MEASURES[(r + k) % MEASURES.length]!;
      const m = await run.measure(p, op, rate);
      rounds[op].push(m);
      run.log(`history${run.tag}: ${p} ${op} ${rate ? `at ${rate}/s` : "closed loop"}, round ${r + 1}/${run.rounds}: ${m.rps} req/s, p99 ${m.latencyMs.p99} ms (${m.errors} errors)`);
    }
  }
  return rounds;
}

/** The round whose p99 is the median, and each round's p99 over GetUserByID's in the same round. */
function summary(rounds: Rounds, op: HistoryMeasure) {
  const all = rounds[op];
  const p99s = all.map((m) => m.latencyMs.p99);
  const ratios = all.map((m, i) => round2(m.latencyMs.p99 / rounds.get[i]!.latencyMs.p99));
  return { median: all.find((m) => m.latencyMs.p99 === median(p99s))!, p99s, ratios, ratio: median(ratios), errors: all.reduce((n, m) => n + m.errors, 0) };
}

/**
 * Per protocol: the rounds in a closed loop (each connection sends its next call when the last
 * one answered: the server at its maximum, each call queued behind the others), then at a fixed
 * FIXED_RATE (a call's own latency on a server that is not saturated, as the scale table's
 * GetUserByID is measured). Prints the table, writes bench/results/history-<backend>*.json.
 */
export async function measureHistory<P extends string>(run: HistoryRun<P>): Promise<void> {
  const results = [];
  for (const p of run.protocols) {
    const closed = await measureRounds(run, p);
    results.push({ protocol: p, closed, rate: FIXED_RATE, fixed: await measureRounds(run, p, FIXED_RATE) });
  }
  const rows = results.flatMap(({ protocol, closed, rate, fixed }) =>
    ([["closed loop", closed], [`${rate}/s`, fixed]] as const).flatMap(([load, rounds]) =>
      MEASURES.map((op) => {
        const s = summary(rounds, op);
        const l = s.median.latencyMs;
        const history = op !== "get";
        return [
          protocol, load, NAMES[op], s.median.rps, l.p50, l.p95, l.p99, s.p99s.join(" / "),
          history ? `${s.ratio} (${s.ratios.join(" / ")})` : "", history ? pass(l.p99 <= TARGET_P99_MS) : "",
          `${round2(s.median.server.within10msShare * 100)}%; ≤ ${s.median.server.p99AtMostMs}`, s.median.serverCpuCores, s.errors,
        ];
      }),
    ),
  );
  const { seed } = run.data;
  run.print(
    `History (${run.data.db.backend}, ${run.users} users × ${EVENTS_PER_USER} events, random users, ${run.connections} connections: closed loop, then ${FIXED_RATE} calls/s; the round with the median p99 of ${run.rounds})${run.tag}, ms`,
    `${table(["protocol", "load", "call", "req/s", "p50", "p95", "p99", "p99 each round", "p99 ÷ GetUserByID's (each round)", `p99 ≤ ${TARGET_P99_MS}`, "in the server: within 10 ms; p99", "server cores", "errors"], rows)}\n\n` +
      `seeded ${seed.users} users in ${seed.seconds.toFixed(1)} s on ${seed.seededAt} (${seed.cached ? `cached in ${run.data.db.dataDir}` : "this run"})`,
  );
  const detail = (rounds: Rounds) => Object.fromEntries(MEASURES.map((op) => [op, { ...summary(rounds, op), rounds: rounds[op] }]));
  run.log(
    `wrote ${writeResult("history", `${run.data.db.backend}${run.fileSuffix}`, {
      ...run.header(),
      how: {
        data: `bench/history-seed.ts: ${seed.method}`,
        load: "gRPC bench/load-grpc.ts (streams over 4 HTTP/2 connections), Connect JSON and REST bench/load-http.ts (closed loop: autocannon; fixed rate: node:http on bench/open-loop.ts's schedule); rounds of GetUserByID, the first page and the second page, the order turning each round",
      },
      seeding: { ...seed, ids: undefined },
      protocols: Object.fromEntries(results.map(({ protocol, closed, rate, fixed }) => [protocol, { closedLoop: detail(closed), fixedRate: { rate, ...detail(fixed) } }])),
      target: `ListUserEvents p99 ≤ ${TARGET_P99_MS} ms with 1,000,000 users and ${EVENTS_PER_USER} events each`,
    })}`,
  );
}
