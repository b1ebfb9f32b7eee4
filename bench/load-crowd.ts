/**
 * The crowd: `connections` virtual users, each on its own keep-alive HTTP/1.1 connection, each
 * looping AddHumanUser → LockUser → DeleteUser (Connect JSON) for the duration — the shape of
 * ZITADEL's published v4 benchmark. Users are created without a password (ZITADEL's INITIAL
 * state; LockUser allows it), so scrypt does not dominate. The first `warmupS` seconds are not
 * measured: all connections start at once, so the first 600 creates and then the first 600 locks
 * arrive together at a server that has not yet served a call, which over a 10 s run decided the
 * lock's p95 alone (bench/FINDINGS.md, "where PostgreSQL's lock tail comes from"); every other
 * scenario warms up too. The whole run's latencies are reported beside. Run as its own process
 * (`taskset -c 1 node --import tsx bench/load-crowd.ts CONFIG_JSON`); prints one JSON line.
 */
import { Agent } from "node:http";
import { postJson } from "./post-json.js";

interface Config {
  url: string;
  token: string;
  orgId: string;
  connections: number;
  /** Seconds of load before the measured `durationS`; the connections keep going through both. */
  warmupS: number;
  durationS: number;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const agent = new Agent({ keepAlive: true, maxSockets: cfg.connections, maxFreeSockets: cfg.connections });
const post = (path: string, body: string) => postJson(agent, new URL(`/zitadel.user.v2.UserService/${path}`, cfg.url), cfg.token, body);

type Call = "create" | "lock" | "delete";
/** Calls sent after the warm-up. */
const lat: Record<Call, number[]> = { create: [], lock: [], delete: [] };
/** Every call, the warm-up's included. */
const whole: Record<Call, number[]> = { create: [], lock: [], delete: [] };
const errors: Record<string, number> = {};
let firstError: string | undefined;
const tag = `${process.pid}-${Date.now()}`;
let n = 0;
const start = performance.now();
const measuredFrom = start + cfg.warmupS * 1000;
const end = measuredFrom + cfg.durationS * 1000;

async function step(name: Call, path: string, body: string) {
  const t = performance.now();
  const res = await post(path, body);
  if (res.status === 200) {
    const ms = performance.now() - t;
    whole[name].push(ms);
    if (t >= measuredFrom) lat[name].push(ms);
  } else {
    errors[`${name} ${res.status}`] = (errors[`${name} ${res.status}`] ?? 0) + 1;
    firstError ??= `${name}: ${res.status} ${res.body.slice(0, 200)}`;
  }
  return res;
}

/** Cycles begun after the warm-up, and all of them. */
let cycles = 0;
let allCycles = 0;
await Promise.all(
  Array.from({ length: cfg.connections }, async () => {
    while (performance.now() < end) {
      const begun = performance.now();
      const i = n++;
      const created = await step(
        "create",
        "AddHumanUser",
        JSON.stringify({
          username: `crowd-${tag}-${i}`,
          organization: { orgId: cfg.orgId },
          profile: { givenName: "Crowd", familyName: `User ${i}` },
          email: { email: `crowd-${tag}-${i}@example.com`, isVerified: true },
        }),
      );
      if (created.status !== 200) continue;
      const userId = (JSON.parse(created.body) as { userId: string }).userId;
      await step("lock", "LockUser", JSON.stringify({ userId }));
      await step("delete", "DeleteUser", JSON.stringify({ userId }));
      allCycles++;
      if (begun >= measuredFrom) cycles++;
    }
  }),
);
const stopped = performance.now();
agent.destroy();
const result = { elapsedS: (stopped - measuredFrom) / 1000, cycles, allCycles, errors, firstError, latencies: lat, wholeLatencies: whole };
// Exit only once the (large) line is flushed to the pipe.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
