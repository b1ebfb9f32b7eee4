/**
 * A ZITADEL Actions v2 target's receiver on 127.0.0.1, as an application written for ZITADEL runs
 * it: it keeps each request's JSON body and whether its `ZITADEL-Signature` header
 * (`t=<unix seconds>,v1=<hex HMAC-SHA256(signing key, "<t>.<raw body>")>`) matches the raw body,
 * recomputed with the target's signing key as zitadel-go's actions.ValidatePayload does; and the
 * REST calls that attach it to a server as a rest_async target with executions for event types.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { expect } from "vitest";
import type { TestServer } from "./server.js";

export interface ActionsCall {
  body: Record<string, unknown>;
  signatureValid: boolean;
}

export class ActionsReceiver {
  readonly received: ActionsCall[] = [];
  /** What the receiver answers; only what it takes (2xx) is kept. */
  status = 200;
  /** The target's key, as CreateTarget answered it once. */
  signingKey = "";
  url = "";
  private server?: Server;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        if (this.status >= 200 && this.status <= 299) {
          this.received.push({ body: JSON.parse(raw), signatureValid: this.signs(String(req.headers["zitadel-signature"]), raw) });
        }
        res.writeHead(this.status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
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
async function adminRest(server: TestServer, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
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
