/**
 * Sending a user event to an SSF stream, as the dispatcher hands it over from the outbox: the
 * SETs it causes on the stream (sets.ts), signed with the current key when they leave, pushed to
 * the receiver one after the other (push.ts) or queued for it to poll (StoredPollQueue). Nothing
 * when the stream no longer wants the event: disabled since, its subjects leave the user out, or
 * it delivers none of the event's signals ("dropped").
 */
import { PUSH } from "../../domain/ssf/event-types.js";
import type { SsfStream } from "../../domain/ssf/stream.js";
import type { OutboundPolicy } from "../../security/outbound-urls.js";
import type { SsfStore } from "../../store/ssf-store.js";
import type { UserStore } from "../../store/store.js";
import type { Courier } from "../courier.js";
import type { Sender } from "../dispatcher.js";
import { pushSet } from "./push.js";
import { userEventSets } from "./sets.js";
import type { SigningKeys } from "./signing-keys.js";
import type { StoredPollQueue } from "./stored-poll-queue.js";
import type { SsfStreams } from "./streams.js";

export interface StreamSenderDeps {
  streams: Pick<SsfStreams, "delivers" | "settings">;
  keys: Pick<SigningKeys, "current">;
  courier: Courier;
  users: Pick<UserStore, "getUser">;
  queue: Pick<SsfStore, "queueSets">;
  pollQueue: Pick<StoredPollQueue, "queued">;
  outbound: OutboundPolicy;
  /** How long one push may take. */
  timeoutMs: number;
  now?: () => Date;
}

export function streamSender(stream: SsfStream, deps: StreamSenderDeps): Sender {
  return {
    async send(delivery) {
      const { event } = delivery;
      // The address names the user in `email` streams and in subjects added by address.
      const email = (await deps.users.getUser(event.userId))?.human?.email || undefined;
      if (!(await deps.streams.delivers(stream, event.userId, email))) return "dropped";
      const key = await deps.keys.current();
      const now = deps.now?.() ?? new Date();
      const sets = await userEventSets({ event, txn: delivery.txn, email }, stream, { key, courier: deps.courier }, deps.streams.settings.issuer, now);
      if (sets.length === 0) return "dropped";
      if (stream.delivery.method === PUSH) {
        for (const { set } of sets) await pushSet(deps.courier, stream.delivery, set, deps.outbound, deps.timeoutMs);
        return;
      }
      await deps.queue.queueSets(stream.id, sets.map(({ jti, set }) => ({ jti, kid: key.kid, set })), now);
      deps.pollQueue.queued(stream.id);
    },
  };
}
