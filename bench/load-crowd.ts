/**
 * The crowd: `connections` virtual users, each on its own keep-alive HTTP/1.1 connection, each
 * looping AddHumanUser → LockUser → DeleteUser (Connect JSON) for the duration — the shape of
 * ZITADEL's published v4 benchmark. Users are created without a password (ZITADEL's INITIAL
 * state; LockUser allows it), so scrypt does not dominate. Run as its own process
 * (`taskset -c 1 node --import tsx bench/load-crowd.ts CONFIG_JSON`); prints one JSON line.
 */
import { Agent } from "node:http";
import { postJson } from "./post-json.js";

interface Config {
  url: string;
  token: string;
  orgId: string;
  connections: number;
  durationS: number;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const agent = new Agent({ keepAlive: true, maxSockets: cfg.connections, maxFreeSockets: cfg.connections });
const post = (path: string, body: string) => postJson(agent, new URL(`/zitadel.user.v2.UserService/${path}`, cfg.url), cfg.token, body);

const lat: Record<"create" | "lock" | "delete", number[]> = { create: [], lock: [], delete: [] };
const errors: Record<string, number> = {};
let firstError: string | undefined;
const tag = `${process.pid}-${Date.now()}`;
let n = 0;

async function step(name: keyof typeof lat, path: string, body: string) {
  const t = performance.now();
  const res = await post(path, body);
  if (res.status === 200) lat[name].push(performance.now() - t);
  else {
    errors[`${name} ${res.status}`] = (errors[`${name} ${res.status}`] ?? 0) + 1;
    firstError ??= `${name}: ${res.status} ${res.body.slice(0, 200)}`;
  }
  return res;
}

const start = performance.now();
const end = start + cfg.durationS * 1000;
let cycles = 0;
await Promise.all(
  Array.from({ length: cfg.connections }, async () => {
    while (performance.now() < end) {
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
      cycles++;
    }
  }),
);
const elapsedS = (performance.now() - start) / 1000;
agent.destroy();
// Exit only once the (large) line is flushed to the pipe.
process.stdout.write(`${JSON.stringify({ elapsedS, cycles, errors, firstError, latencies: lat })}\n`, () => process.exit(0));
