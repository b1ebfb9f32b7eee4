/**
 * What an operator's load balancer and a REST client see through the PostgreSQL drill: `/readyz`
 * and a REST read, every PROBE_EVERY_MS, each answer kept with its time. A REST answer other than
 * 200 or 503, or one that shows SQL, is a violation.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { LEAKS_SQL } from "./ground-postgres-load.js";

const PROBE_EVERY_MS = 100;
const PROBE_TIMEOUT_MS = 8_000;

export interface Probed {
  at: number;
  ready: number;
  rest: number;
}

export interface Probes {
  readonly answers: Probed[];
  stop(): Promise<void>;
}

async function status(url: string, token?: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return { status: res.status, body: await res.text() };
  } catch {
    // No answer at all: the server did not answer within the timeout, which the checks count against it.
    return { status: 0, body: "" };
  }
}

export function startProbes(server: { baseUrl: string; adminToken: string }, userId: string, violations: string[]): Probes {
  const answers: Probed[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const [ready, rest] = await Promise.all([status(`${server.baseUrl}/readyz`), status(`${server.baseUrl}/v2/users/${userId}`, server.adminToken)]);
      if (rest.status !== 200 && rest.status !== 503) violations.push(`REST GET answered ${rest.status}: ${rest.body.slice(0, 200)}`);
      if (rest.status === 503 && LEAKS_SQL.test(rest.body)) violations.push(`REST GET answered 503 with SQL in its body: ${rest.body.slice(0, 200)}`);
      answers.push({ at: Date.now(), ready: ready.status, rest: rest.status });
      await sleep(PROBE_EVERY_MS);
    }
  })();
  return {
    answers,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
