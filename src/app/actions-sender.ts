/**
 * Sending an event to a ZITADEL Actions v2 target (EXTENSIONS.md §3): ZITADEL's event payload
 * as JSON, signed in the `ZITADEL-Signature` header as ZITADEL signs it, so that a receiver
 * written for ZITADEL (e.g. one checking it as zitadel-go's actions.ValidatePayload does) works
 * unchanged. Any 2xx is success. The endpoint is judged against the allow-list before every
 * send (it may have changed since the target was saved), and names allowed by the default rule
 * are judged again by the addresses they resolve to (security/outbound-urls.ts).
 */
import { createHmac } from "node:crypto";
import { checkOutboundUrl, type OutboundPolicy } from "../security/outbound-urls.js";
import type { LeasedDelivery } from "../store/outbox.js";
import type { Courier } from "./courier.js";
import { PermanentDeliveryError, type Sender } from "./dispatcher.js";

export interface ActionTarget {
  endpoint: string;
  signingKey: string;
  timeoutMs: number;
}

/** ZITADEL's user aggregate: its type and version as its events carry them. */
const AGGREGATE = { type: "user", version: "v2" };

/**
 * The body ZITADEL posts for an event; ours adds what the lock record holds to `event_payload`,
 * and leaves out a new user's password hash: a receiver has no use for it, and it is a secret.
 */
export function actionsEventBody(delivery: LeasedDelivery, instanceId: string): string {
  const { event } = delivery;
  return JSON.stringify({
    aggregateID: event.userId,
    aggregateType: AGGREGATE.type,
    resourceOwner: delivery.orgId,
    instanceID: instanceId,
    version: AGGREGATE.version,
    sequence: event.sequence,
    event_type: event.type,
    created_at: event.createdAt.toISOString(),
    userID: event.actor,
    event_payload: payloadOf(event),
  });
}

function payloadOf(event: LeasedDelivery["event"]): unknown {
  if (event.type !== "user.human.added") return "payload" in event && event.payload !== undefined ? event.payload : null;
  const { passwordHash, ...human } = event.payload.human;
  return { ...event.payload, human };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`. */
export function zitadelSignature(signingKey: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac("sha256", signingKey).update(`${t}.${body}`).digest("hex");
  return `t=${t},v1=${v1}`;
}

export interface ActionsSenderOptions {
  instanceId: string;
  outbound: OutboundPolicy;
  courier: Pick<Courier, "post">;
  now?: () => Date;
}

export function actionsSender(target: ActionTarget, options: ActionsSenderOptions): Sender {
  return {
    async send(delivery) {
      const verdict = checkOutboundUrl(target.endpoint, options.outbound);
      if (!verdict.allowed) throw new PermanentDeliveryError(`the endpoint is not allowed: ${verdict.reason}`);
      const body = actionsEventBody(delivery, options.instanceId);
      const signature = zitadelSignature(target.signingKey, body, options.now?.() ?? new Date());
      const headers = { "content-type": "application/json", "zitadel-signature": signature };
      const { status } = await options.courier.post(verdict.url, body, { headers, timeoutMs: target.timeoutMs, guarded: !verdict.byPrefix });
      if (status < 200 || status > 299) throw new Error(`the target answered ${status}`);
    },
  };
}
