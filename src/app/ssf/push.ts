/**
 * Push delivery of one SET (RFC 8935): POSTed as application/secevent+jwt with the stream's
 * Authorization header, if the receiver gave one. The receiver answers 202 (any 2xx is taken);
 * a 400 carries its reason (`{"err", "description"}`, RFC 8935 §2.3) and means it will never take
 * this SET, so the delivery is parked; anything else is tried again.
 */
import { checkOutboundUrl, type OutboundPolicy } from "../../security/outbound-urls.js";
import type { Courier } from "../courier.js";
import { PermanentDeliveryError } from "../dispatcher.js";

export interface PushEndpoint {
  endpointUrl: string;
  authorizationHeader?: string;
}

export async function pushSet(courier: Pick<Courier, "post">, endpoint: PushEndpoint, set: string, outbound: OutboundPolicy, timeoutMs: number): Promise<void> {
  // Judged before every send: the policy may have changed since the stream was saved.
  const verdict = checkOutboundUrl(endpoint.endpointUrl, outbound);
  if (!verdict.allowed) throw new PermanentDeliveryError(`the endpoint is not allowed: ${verdict.reason}`);
  const headers: Record<string, string> = { "content-type": "application/secevent+jwt", accept: "application/json" };
  if (endpoint.authorizationHeader) headers.authorization = endpoint.authorizationHeader;
  const answer = await courier.post(verdict.url, set, { headers, timeoutMs, guarded: !verdict.byPrefix });
  if (answer.status >= 200 && answer.status <= 299) return;
  if (answer.status === 400) throw new PermanentDeliveryError(`the receiver refused the SET: ${setError(answer.body)}`);
  throw new Error(`the receiver answered ${answer.status}`);
}

/** RFC 8935 §2.3's error object as one line, or what the body was when it is not one. */
function setError(body: string): string {
  try {
    const { err, description } = JSON.parse(body) as { err?: unknown; description?: unknown };
    if (typeof err === "string") return typeof description === "string" ? `${err}: ${description}` : err;
  } catch {
    // not JSON: said below
  }
  return "400 without an error object";
}
