/**
 * Receivers as applications run them, on 127.0.0.1: an SSF push receiver (RFC 8935) that keeps
 * each SET it is sent with the request's headers, and a poll receiver's loop (RFC 8936); both
 * verify every SET with the per-SET checks of set-checks.ts against the transmitter's jwks_uri.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { JSONWebKeySet } from "jose";
import { listenReceiver, type RunningReceiver } from "./http-receiver.js";
import { checkSet, type CheckedSet } from "./set-checks.js";
import { ssfCall } from "./ssf-http.js";
import type { TestServer } from "./server.js";

export interface PushedSet {
  set: string;
  headers: IncomingHttpHeaders;
  /** When it arrived (Date.now()). */
  at: number;
}

export class PushReceiver {
  readonly received: PushedSet[] = [];
  /** What the receiver answers: 202 takes the SET; 400 refuses it with `refusal`; others fail it. */
  status = 202;
  refusal = { err: "invalid_request", description: "not for us" };
  /** Pushes answered with anything but 2xx. */
  refused = 0;
  private receiver?: RunningReceiver;
  url = "";

  async start(): Promise<this> {
    this.receiver = await listenReceiver("/events", (req, body, res) => {
      if (this.status >= 200 && this.status <= 299) this.received.push({ set: body, headers: req.headers, at: Date.now() });
      else this.refused++;
      if (this.status === 400) res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify(this.refusal));
      else res.writeHead(this.status).end();
    });
    this.url = this.receiver.url;
    return this;
  }

  async stop(): Promise<void> {
    await this.receiver?.stop();
  }
}

/** The transmitter's JWKS, as a receiver fetches it from jwks_uri. */
export async function fetchJwks(server: Pick<TestServer, "baseUrl">): Promise<JSONWebKeySet> {
  const config = await ssfCall(server, "GET", "/.well-known/ssf-configuration");
  const res = await fetch(config.json.jwks_uri as string);
  return (await res.json()) as JSONWebKeySet;
}

/** Every SET checked as a receiver checks it, against a JWKS fetched now. */
export async function checkAll(server: Pick<TestServer, "baseUrl">, sets: readonly string[], audience: string): Promise<CheckedSet[]> {
  const jwks = await fetchJwks(server);
  const issuer = (await ssfCall(server, "GET", "/.well-known/ssf-configuration")).json.issuer as string;
  return Promise.all(sets.map((set) => checkSet(set, jwks, { issuer, audience })));
}

/** Polls the stream, acknowledging what it took, until `count` SETs arrived or `timeoutMs` passed. */
export async function pollUntil(server: Pick<TestServer, "baseUrl">, streamId: string, token: string, count: number, timeoutMs = 10_000): Promise<string[]> {
  const sets: string[] = [];
  let ack: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await ssfCall(server, "POST", `/ssf/poll/${streamId}`, { token, body: { ack, returnImmediately: sets.length >= count, maxEvents: 100 } });
    if (answer.status !== 200) throw new Error(`poll answered ${answer.status}: ${answer.text}`);
    const taken = answer.json.sets as Record<string, string>;
    ack = Object.keys(taken);
    sets.push(...Object.values(taken));
    if (sets.length >= count && ack.length === 0) break;
  }
  return sets;
}
