/**
 * A ZITADEL Actions v2 target's receiver on 127.0.0.1, as an application written for ZITADEL runs
 * it: it keeps each request's JSON body and whether its `ZITADEL-Signature` header
 * (`t=<unix seconds>,v1=<hex HMAC-SHA256(signing key, "<t>.<raw body>")>`) matches the raw body,
 * recomputed with the target's signing key as zitadel-go's actions.ValidatePayload does; and the
 * REST calls that attach it to a server as a rest_async target with executions for event types.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "vitest";
import { listenReceiver, type RunningReceiver } from "./http-receiver.js";
import type { TestServer } from "./server.js";

export interface ActionsCall {
  body: Record<string, unknown>;
  signatureValid: boolean;
  /** When it arrived (Date.now()). */
  at: number;
}

export class ActionsReceiver {
  readonly received: ActionsCall[] = [];
  /** What the receiver answers; only what it takes (2xx) is kept. */
  status = 200;
  /** The target's key, as CreateTarget answered it once. */
  signingKey = "";
  url = "";
  private receiver?: RunningReceiver;

  async start(): Promise<this> {
    this.receiver = await listenReceiver("/hook", (req, raw, res) => {
      if (this.status >= 200 && this.status <= 299) {
        this.received.push({ body: JSON.parse(raw), signatureValid: this.signs(String(req.headers["zitadel-signature"]), raw), at: Date.now() });
      }
      res.writeHead(this.status).end();
    });
    this.url = this.receiver.url;
    return this;
  }

  async stop(): Promise<void> {
    await this.receiver?.stop();
  }

  private signs(header: string, raw: string): boolean {
    const parts = Object.fromEntries(header.split(",").map((part) => part.split("=", 2) as [string, string]));
    if (!parts.t || !parts.v1) return false;
    const expected = createHmac("sha256", this.signingKey).update(`${parts.t}.${raw}`).digest();
    const given = Buffer.from(parts.v1, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** An administrator's REST call, answered 200. */
export async function adminRest(server: TestServer, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Makes the receiver a rest_async target (the receiver keeps the signing key CreateTarget shows
 * once) with an execution for each event type. Executions reach the server's delivery routes on
 * its next refresh, within about a second (app/delivery.ts); events recorded sooner are not sent.
 */
export async function attachTarget(server: TestServer, receiver: ActionsReceiver, name: string, eventTypes: readonly string[]): Promise<string> {
  const target = await adminRest(server, "POST", "/v2/actions/targets", { name, restAsync: {}, timeout: "5s", endpoint: receiver.url });
  receiver.signingKey = target.signingKey as string;
  for (const event of eventTypes) await adminRest(server, "PUT", "/v2/actions/executions", { condition: { event: { event } }, targets: [target.id] });
  return target.id as string;
}

/** Half a second beyond the server's refresh of its delivery routes (a second, app/delivery.ts). */
const ROUTED_MS = 1_500;

/**
 * attachTarget, settling once the server's routes have surely read the executions: start it,
 * do the rest of the setup meanwhile, then await it before the events that must be sent.
 */
export async function attachTargetRouted(server: TestServer, receiver: ActionsReceiver, name: string, eventTypes: readonly string[]): Promise<string> {
  const id = await attachTarget(server, receiver, name, eventTypes);
  await sleep(ROUTED_MS);
  return id;
}
