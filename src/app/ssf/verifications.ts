/**
 * The verification events receivers ask for (SSF §8.1.4.2), sent from the requests the stream
 * management API records (SsfStreams.requestVerification): pushed to a push stream, or queued
 * for a poll stream. A request stays recorded until its event is sent, so one under way when the
 * process dies is sent after the restart; one a receiver fails to take is tried again, backing
 * off, and one it refuses (a 400) is dropped. A paused stream's request waits until the stream is enabled; a disabled stream's is dropped.
 */
import { PUSH } from "../../domain/ssf/event-types.js";
import type { OutboundPolicy } from "../../security/outbound-urls.js";
import type { PendingVerification, SsfStore } from "../../store/ssf-store.js";
import type { Courier } from "../courier.js";
import { PermanentDeliveryError } from "../dispatcher.js";
import { pushSet } from "./push.js";
import { verificationSet } from "./sets.js";
import type { SigningKeys } from "./signing-keys.js";
import type { StoredPollQueue } from "./stored-poll-queue.js";
import type { SsfStreams } from "./streams.js";

/** Requests looked at in one round. */
const BATCH = 50;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

export interface VerificationDeps {
  streams: Pick<SsfStreams, "pendingVerifications" | "verificationTaken" | "settings">;
  store: Pick<SsfStore, "getStream" | "queueSets">;
  keys: Pick<SigningKeys, "current">;
  courier: Courier;
  pollQueue: Pick<StoredPollQueue, "queued">;
  outbound: OutboundPolicy;
  timeoutMs: number;
  onError(err: unknown): void;
}

export class VerificationSender {
  /** Requests a receiver failed to take: when to try again, and after how many failures. */
  private readonly retries = new Map<number, { at: number; failures: number }>();

  constructor(private readonly deps: VerificationDeps) {}

  /** One round over the recorded requests. */
  async sendPending(): Promise<void> {
    const requests = await this.deps.streams.pendingVerifications(BATCH);
    for (const request of requests) {
      const retry = this.retries.get(request.id);
      if (retry && retry.at > Date.now()) continue;
      try {
        if (await this.send(request)) {
          await this.deps.streams.verificationTaken(request.id);
          this.retries.delete(request.id);
        }
      } catch (err) {
        this.deps.onError(err);
        // Refused for good (the receiver's 400, an endpoint no longer allowed): asking again cannot help.
        if (err instanceof PermanentDeliveryError) {
          await this.deps.streams.verificationTaken(request.id);
          this.retries.delete(request.id);
          continue;
        }
        const failures = (retry?.failures ?? 0) + 1;
        this.retries.set(request.id, { at: Date.now() + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** failures), failures });
      }
    }
    // Forget the retries of requests that are gone (their stream was deleted).
    const ids = new Set(requests.map((request) => request.id));
    for (const id of this.retries.keys()) if (!ids.has(id)) this.retries.delete(id);
  }

  /** True once the request is done with: sent, or its stream gone or disabled; false when the stream was paused meanwhile. */
  private async send(request: PendingVerification): Promise<boolean> {
    const stream = await this.deps.store.getStream(request.streamId);
    if (!stream || stream.status === "disabled") return true;
    if (stream.status === "paused") return false;
    const key = await this.deps.keys.current();
    const now = new Date();
    const { jti, set } = await verificationSet(request, stream, { key, courier: this.deps.courier }, this.deps.streams.settings.issuer, now);
    if (stream.delivery.method === PUSH) {
      await pushSet(this.deps.courier, stream.delivery, set, this.deps.outbound, this.deps.timeoutMs);
    } else {
      await this.deps.store.queueSets(stream.id, [{ jti, kid: key.kid, set }], now);
      this.deps.pollQueue.queued(stream.id);
    }
    return true;
  }
}
