/**
 * The two ways the PostgreSQL drill takes the database away: a real restart of the cluster
 * (`pg_ctlcluster`: stop, wait, start), which only a drill run under `flock /tmp/heavy.lock` may
 * do on a shared machine; and, for `npm test`, the backends of one database terminated again and
 * again, so that every connection and every reconnection of that database's servers fails for a
 * while and no other database on the cluster notices.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/** How often the terminating loop looks for the database's backends: often enough that a reconnection seldom gets a query through. */
const TERMINATE_EVERY_MS = 10;
/** How often a restarting cluster is asked whether it answers. */
const ANSWER_PROBE_MS = 20;

export type OutageKind = "restart" | "terminate";

export interface Outage {
  /** When the database was taken away and when it was back (Date.now()). */
  wentAt: number;
  backAt: number;
}

/**
 * Takes the database away for `ms`. `serverUrl` names the cluster (its database is where the
 * terminating loop connects: never `database`), `database` the drill's own.
 */
export function outage(kind: OutageKind, serverUrl: string, database: string, ms: number, cluster: string): Promise<Outage> {
  return kind === "restart" ? restartCluster(serverUrl, cluster, ms) : terminateBackends(serverUrl, database, ms);
}

/**
 * `pg_ctlcluster <version> <name> stop` (fast: sessions are ended at once), `ms` without a
 * database, then start. Gone once the stop has returned (until then the cluster may still answer
 * what it was already serving); back at the first query answered while the start runs
 * (`pg_ctlcluster start` returns up to seconds after the cluster accepts connections).
 */
async function restartCluster(serverUrl: string, cluster: string, ms: number): Promise<Outage> {
  const [version, name] = cluster.split("/");
  if (!version || !name) throw new Error(`a cluster is <version>/<name>, e.g. 15/main; got ${cluster}`);
  await run("pg_ctlcluster", [version, name, "stop", "-m", "fast"]);
  const wentAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const starting = run("pg_ctlcluster", [version, name, "start"]);
  let started = false;
  void starting.finally(() => (started = true));
  let backAt: number | undefined;
  while (backAt === undefined) {
    // Whether the start had returned before this try: then a cluster that does not answer is a failure.
    const startedBefore = started;
    if (await answers(serverUrl)) backAt = Date.now();
    else if (startedBefore) throw new Error(`the cluster ${cluster} started but answers no query`);
    else await new Promise((resolve) => setTimeout(resolve, ANSWER_PROBE_MS));
  }
  await starting;
  return { wentAt, backAt };
}

async function answers(serverUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Terminates every backend of `database` but its own, every TERMINATE_EVERY_MS, for `ms`. */
async function terminateBackends(serverUrl: string, database: string, ms: number): Promise<Outage> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    if ((await client.query<{ db: string }>("select current_database() as db")).rows[0]?.db === database) {
      throw new Error("the terminating loop must not run on the database it empties");
    }
    const wentAt = Date.now();
    while (Date.now() - wentAt < ms) {
      await client.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [database]);
      await new Promise((resolve) => setTimeout(resolve, TERMINATE_EVERY_MS));
    }
    return { wentAt, backAt: Date.now() };
  } finally {
    await client.end();
  }
}
