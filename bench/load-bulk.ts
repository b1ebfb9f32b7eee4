/**
 * One measurement of the bulk scenario (bench/bulk.ts), run as its own process (`taskset -c 1
 * node --import tsx bench/load-bulk.ts CONFIG_JSON`): lock the users of `idsFile` either with one
 * BulkLockUsers call or with one LockUser call each from `connections` keep-alive HTTP/1.1
 * connections (Connect JSON, both zus.user.v1 with the same reason), and print one JSON line:
 * the time from the first request sent to the last answer received, and how many users locked.
 * The connections are opened (one no-op each) before the clock starts.
 */
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import { postJson } from "./post-json.js";

interface Config {
  url: string;
  token: string;
  idsFile: string;
  mode: "bulk" | "singles";
  connections: number;
  reason: string;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const ids = readFileSync(cfg.idsFile, "utf8").trim().split("\n");
const agent = new Agent({ keepAlive: true, maxSockets: cfg.connections, maxFreeSockets: cfg.connections });
const post = (path: string, body: string) => postJson(agent, new URL(path, cfg.url), cfg.token, body);

/** `connections` calls at a time, each taking the next of `count` until none is left. */
async function concurrently(count: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(cfg.connections, count) }, async () => {
    for (let i = next++; i < count; i = next++) await call(i);
  }));
}

await concurrently(cfg.connections, () => post("/zus.bench.v1.BenchService/Noop", '{"userId":"1"}').then(() => undefined));

let locked = 0;
let firstError: string | undefined;
const start = performance.now();
if (cfg.mode === "bulk") {
  const res = await post("/zus.user.v1.UserRecordService/BulkLockUsers", JSON.stringify({ userIds: ids, reason: cfg.reason }));
  if (res.status === 200) {
    const { results } = JSON.parse(res.body) as { results: { details?: unknown; error?: unknown }[] };
    locked = results.filter((r) => r.details).length;
    firstError = results.find((r) => r.error) && JSON.stringify(results.find((r) => r.error));
  } else firstError = `${res.status} ${res.body.slice(0, 200)}`;
} else {
  await concurrently(ids.length, async (i) => {
    const res = await post("/zus.user.v1.UserRecordService/LockUser", JSON.stringify({ userId: ids[i], reason: cfg.reason }));
    if (res.status === 200) locked++;
    else firstError ??= `${res.status} ${res.body.slice(0, 200)}`;
  });
}
const elapsedMs = performance.now() - start;
agent.destroy();
process.stdout.write(`${JSON.stringify({ elapsedMs, users: ids.length, locked, firstError })}\n`, () => process.exit(0));
