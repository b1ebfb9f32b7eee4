/**
 * The delivery scenario's receivers (bench/delivery-receivers.ts, a process of their own on the
 * load's core) and how they are attached to the server, as an operator attaches them: two
 * SSF_RECEIVER machine users made with the CLI, a push stream and a poll stream made over SSF's
 * stream management API, an Actions v2 target and its executions for user.locked and
 * user.unlocked made over REST. Attached means enabled streams and executions naming the target;
 * detached means disabled streams and no executions, so a commit writes no delivery at all.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Kind } from "./delivery-kinds.js";
import { lineChild } from "./line-child.js";
import { ROOT } from "./server.js";

const run = promisify(execFile);

const PUSH = "urn:ietf:rfc:8935";
const POLL = "urn:ietf:rfc:8936";
const RISC = "https://schemas.openid.net/secevent/risc/event-type/";
const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
/** What the streams ask for: a lock's account-disabled and session-revoked, an unlock's account-enabled, a delete's account-purged. */
const EVENTS_REQUESTED = [`${RISC}account-disabled`, `${RISC}account-enabled`, `${RISC}account-purged`, `${CAEP}session-revoked`];
/** The events the Actions target gets (ZITADEL's event types). */
const ACTION_EVENTS = ["user.locked", "user.unlocked"];
/** Executions changed here reach the routes within a second (delivery.ts, REFRESH_MS); streams at once. */
const ROUTES_SETTLE_MS = 1_500;
/** The target's timeout: ZITADEL's maximum, so answers held back while a backlog fills are not given up. */
const TARGET_TIMEOUT = "270s";

export interface Receivers {
  pushUrl: string;
  actionsUrl: string;
  /** Sends one command (bench/delivery-receivers.ts) and resolves with its answer. */
  command<T = Record<string, unknown>>(command: object): Promise<T>;
  stop(): Promise<void>;
}

export async function startReceivers(): Promise<Receivers> {
  const child = lineChild("delivery-receivers.ts");
  const { pushUrl, actionsUrl } = await child.next<{ pushUrl: string; actionsUrl: string }>();
  // One command at a time: each answer is the next line.
  let queue = Promise.resolve<unknown>(undefined);
  return {
    pushUrl,
    actionsUrl,
    command<T>(command: object) {
      const answer = queue.then(() => {
        child.send(JSON.stringify(command));
        return child.next<T>();
      });
      queue = answer.catch(() => undefined);
      return answer;
    },
    async stop() {
      child.end();
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** The server as the wiring reaches it. */
export interface Target {
  baseUrl: string;
  adminToken: string;
  databaseUrl: string;
  orgId: string;
}

export interface Wiring {
  push: { streamId: string; token: string; audience: string };
  poll: { streamId: string; token: string; audience: string };
  target: { id: string; signingKey: string };
}

async function call(url: string, method: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function receiverMachine(server: Target, name: string): Promise<{ userId: string; token: string }> {
  const args = ["dist/cli.mjs", "machine", "add", "--org", server.orgId, "--username", `${name}-${Date.now()}`, "--role", "SSF_RECEIVER"];
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, env: { ...process.env, DATABASE_URL: server.databaseUrl } });
  const [userId, token] = stdout.trim().split(" ");
  return { userId: userId!, token: token! };
}

/** Makes the streams and the target, attached, and tells the receivers what they need to check and poll. */
export async function wire(server: Target, receivers: Receivers): Promise<Wiring> {
  const [pushReceiver, pollReceiver] = [await receiverMachine(server, "bench-push"), await receiverMachine(server, "bench-poll")];
  const stream = async (token: string, delivery: object) =>
    (await call(`${server.baseUrl}/ssf/streams`, "POST", token, { delivery, events_requested: EVENTS_REQUESTED })).json.stream_id as string;
  const pushStream = await stream(pushReceiver.token, { method: PUSH, endpoint_url: receivers.pushUrl, authorization_header: "Bearer bench-push" });
  const pollStream = await stream(pollReceiver.token, { method: POLL });
  const target = (await call(`${server.baseUrl}/v2/actions/targets`, "POST", server.adminToken, { name: `bench-${Date.now()}`, restAsync: {}, timeout: TARGET_TIMEOUT, endpoint: receivers.actionsUrl })).json as {
    id: string;
    signingKey: string;
  };
  const wiring: Wiring = {
    push: { streamId: pushStream, token: pushReceiver.token, audience: pushReceiver.userId },
    poll: { streamId: pollStream, token: pollReceiver.token, audience: pollReceiver.userId },
    target: { id: target.id, signingKey: target.signingKey },
  };
  const configuration = (await call(`${server.baseUrl}/.well-known/ssf-configuration`, "GET", server.adminToken)).json as { jwks_uri: string };
  const jwks = (await (await fetch(configuration.jwks_uri)).json()) as object;
  await receivers.command({ configure: { serverUrl: server.baseUrl, pollStreamId: pollStream, pollToken: pollReceiver.token, actionsKey: target.signingKey, jwks } });
  await attach(server, wiring, new Set(["push", "poll", "actions"]));
  return wiring;
}

export type StreamStatus = "enabled" | "paused" | "disabled";

export async function setStreamStatus(server: Target, stream: Wiring["push"], status: StreamStatus): Promise<void> {
  await call(`${server.baseUrl}/ssf/status`, "POST", stream.token, { stream_id: stream.streamId, status });
}

/**
 * Attaches the receivers named in `kinds` and detaches the others; `paused` names streams that
 * are attached but held (their deliveries are written and wait). Resolves once the server routes
 * accordingly.
 */
export async function attach(server: Target, wiring: Wiring, kinds: ReadonlySet<Kind>, paused: ReadonlySet<Kind> = new Set()): Promise<void> {
  const status = (kind: Kind): StreamStatus => (!kinds.has(kind) ? "disabled" : paused.has(kind) ? "paused" : "enabled");
  await setStreamStatus(server, wiring.push, status("push"));
  await setStreamStatus(server, wiring.poll, status("poll"));
  const targets = kinds.has("actions") ? [wiring.target.id] : [];
  for (const event of ACTION_EVENTS) await call(`${server.baseUrl}/v2/actions/executions`, "PUT", server.adminToken, { condition: { event: { event } }, targets });
  await new Promise((resolve) => setTimeout(resolve, ROUTES_SETTLE_MS));
}

/** Deliveries waiting in the outbox (not parked), as the server's /metrics counts them. */
export async function pendingDeliveries(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const found = /^outbox_deliveries_waiting\{state="pending"\} (\d+)/m.exec(text);
  if (!found) throw new Error("the server's /metrics has no outbox_deliveries_waiting");
  return Number(found[1]);
}
