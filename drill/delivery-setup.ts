/**
 * The delivery drill's SSF streams, attached as two receiving applications attach them, over the
 * server's own API: a push stream and a poll stream, each made with the token of a machine user of
 * its own, delivering account-disabled, account-enabled and session-revoked. (The Actions v2
 * target is test/support/actions-receiver.ts's attachTarget.)
 */
import { addMachine, addOrg } from "../test/support/fixtures.js";
import type { TestServer } from "../test/support/server.js";
import { CAEP, POLL, PUSH, RISC, ssfCall } from "../test/support/ssf-http.js";

export const DISABLED = `${RISC}account-disabled`;
export const ENABLED = `${RISC}account-enabled`;
export const REVOKED = `${CAEP}session-revoked`;

/** The SETs each event of the drill causes on a stream, in the order they are sent (docs/events.md). */
export const SETS_OF: Readonly<Record<string, readonly string[]>> = {
  "user.locked": [DISABLED, REVOKED],
  "user.unlocked": [ENABLED],
};

export interface AttachedStreams {
  /** The stream's `aud`: its receiver's user id. */
  push: { id: string; audience: string };
  poll: { id: string; audience: string; token: string };
}

async function createStream(server: TestServer, token: string, delivery?: Record<string, unknown>): Promise<string> {
  const body = { ...(delivery && { delivery }), events_requested: [DISABLED, ENABLED, REVOKED] };
  const created = await ssfCall(server, "POST", "/ssf/streams", { token, body });
  if (created.status !== 201) throw new Error(`creating a stream answered ${created.status}: ${created.text}`);
  return created.json.stream_id as string;
}

export async function attachStreams(server: TestServer, pushUrl: string, authorization: string): Promise<AttachedStreams> {
  const orgId = await addOrg(server, "drill receivers");
  const [pusher, poller] = await Promise.all([addMachine(server, orgId, "SSF_RECEIVER"), addMachine(server, orgId, "SSF_RECEIVER")]);
  const pushId = await createStream(server, pusher.token, { method: PUSH, endpoint_url: pushUrl, authorization_header: authorization });
  const pollId = await createStream(server, poller.token, { method: POLL });
  return { push: { id: pushId, audience: pusher.userId }, poll: { id: pollId, audience: poller.userId, token: poller.token } };
}
