/**
 * What the drills share about their servers: a fresh database on either backend, a deadline on
 * what should end, a SIGKILL that keeps track of the servers still running (so a signal handler
 * can take them down with the drill), and the server output a healthy run would not print.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createDatabase } from "../test/support/postgres.js";
import { newDataDir, type TestServer } from "../test/support/server.js";

export type Backend = "sqlite" | "postgres";

export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface DrillDatabase {
  dataDir: string;
  url: string;
  drop(): Promise<void>;
}

export async function freshDatabase(backend: Backend, postgresUrl: string | undefined): Promise<DrillDatabase> {
  const dataDir = newDataDir();
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (backend === "sqlite") return { dataDir, url: join(dataDir, "zitadel.db"), drop: async () => removeDataDir() };
  const database = await createDatabase(postgresUrl);
  return {
    dataDir,
    url: database.url,
    async drop() {
      await database.drop();
      removeDataDir();
    },
  };
}

const running = new Set<TestServer>();

/** A server the drill started: killDrillServers takes it down with the drill. */
export function track(server: TestServer): TestServer {
  running.add(server);
  return server;
}

/** SIGKILL, within 10 s; the server is no longer tracked until it is tracked again. */
export function kill(server: TestServer): Promise<unknown> {
  running.delete(server);
  return within(10_000, "SIGKILL of the server", server.stop("SIGKILL"));
}

/** The pids of a server's workers (WORKERS above 1) that said they listen and have not died, from its log. */
export function liveWorkers(server: TestServer): number[] {
  const lines = server.output().split("\n");
  const pidsOf = (msg: string) => lines.filter((line) => line.includes(`"msg":"${msg}"`)).map((line) => Number(/"worker":(\d+)/.exec(line)?.[1]));
  const died = new Set(pidsOf("worker died; replacing it"));
  return pidsOf("worker listening").filter((pid) => !died.has(pid));
}

/** SIGKILL of one worker; resolves once the primary has logged its death and a new worker listens. */
export async function killWorker(server: TestServer, pid: number): Promise<void> {
  const before = new Set(liveWorkers(server));
  process.kill(pid, "SIGKILL");
  await within(20_000, `the replacement of worker ${pid}`, (async () => {
    while (!liveWorkers(server).some((live) => !before.has(live))) await new Promise((resolve) => setTimeout(resolve, 20));
  })());
}

/** SIGKILL of the primary and every worker at once, as a power loss would take them. */
export function killGroup(server: TestServer): Promise<unknown> {
  for (const pid of liveWorkers(server)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  return kill(server);
}

/** For a signal handler: SIGKILL every server the drills have running. */
export function killDrillServers(): void {
  for (const server of running) void server.stop("SIGKILL");
}

/** Which process of a server logged a line: `worker:PID` or `primary:PID` in a cluster, `server` alone. */
export function loggedBy(line: string): string {
  const who = /"(worker|primary)":(\d+)/.exec(line);
  return who ? `${who[1]}:${who[2]}` : "server";
}

/** What a healthy server would not print: warnings, errors, lines that are not the logger's. */
export function uncleanLines(printed: string): string[] {
  return printed.split("\n").filter((line) => line.trim() !== "" && !/^\{"level":"(trace|debug|info)"/.test(line));
}
