/**
 * Everything that takes committed events out of the building (EXTENSIONS.md §2–§4): where each
 * event goes (Actions v2 executions, SSF streams), the dispatcher that sends the outbox to them,
 * the poll streams' queue and the verification events. main.ts makes one and starts it before
 * the first commit, so that every commit writes its deliveries.
 */
import { destinationName, parseDestination } from "../domain/destinations.js";
import type { OutboundPolicy } from "../security/outbound-urls.js";
import type { Store } from "../store/store.js";
import type { ActionsApp } from "./actions.js";
import type { Courier } from "./courier.js";
import { ActionRoutes, joinRoutes, targetSender } from "./delivery-routes.js";
import { Dispatcher, type Outcome, type Sender } from "./dispatcher.js";
import { SenderCache } from "./sender-cache.js";
import type { SigningKeys } from "./ssf/signing-keys.js";
import { StoredPollQueue } from "./ssf/stored-poll-queue.js";
import { StreamRoutes } from "./ssf/stream-routes.js";
import { streamSender } from "./ssf/stream-sender.js";
import type { SsfStreams } from "./ssf/streams.js";
import { VerificationSender } from "./ssf/verifications.js";
import type { DeliveryRoutes } from "./user-events.js";

/** The outbox is read after each commit here, and this often for commits of other instances and retries. */
const POLL_MS = 200;
const FIRST_RETRY_MS = 1000;
/** Executions and streams changed on another instance take effect here within this. */
const REFRESH_MS = 1000;
/** How long one push to an SSF receiver may take (an Actions target has its own timeout). */
const PUSH_TIMEOUT_MS = 10_000;

export interface DeliveryOptions {
  instanceId: string;
  outbound: OutboundPolicy;
  /** Who signs and sends (courier.ts). */
  courier: Courier;
  concurrency: number;
  perDestination: number;
  giveUpAfterMs: number;
  maxBackoffMs: number;
  onOutcome?(outcome: Outcome): void;
  onError(err: unknown): void;
}

export class Delivery {
  readonly routes: DeliveryRoutes;
  readonly pollQueue: StoredPollQueue;
  private readonly actionRoutes: ActionRoutes;
  private readonly streamRoutes: StreamRoutes;
  private readonly dispatcher: Dispatcher;
  private readonly verifications: VerificationSender;
  private readonly senders = new SenderCache((destination) => this.senderFor(destination));
  private refresher?: NodeJS.Timeout;
  private verifying?: Promise<void>;

  constructor(
    private readonly store: Store,
    actions: Pick<ActionsApp, "targetsForEvents">,
    private readonly streams: SsfStreams,
    private readonly keys: SigningKeys,
    private readonly options: DeliveryOptions,
  ) {
    this.actionRoutes = new ActionRoutes(actions);
    this.streamRoutes = new StreamRoutes(store.ssf);
    this.routes = joinRoutes(this.actionRoutes, this.streamRoutes);
    this.pollQueue = new StoredPollQueue(store.ssf, (id) => this.streamRoutes.stream(id)?.status, POLL_MS);
    this.dispatcher = new Dispatcher(store.outbox, (destination) => this.senders.get(destination), {
      concurrency: options.concurrency,
      perDestination: options.perDestination,
      giveUpAfterMs: options.giveUpAfterMs,
      maxBackoffMs: options.maxBackoffMs,
      pollMs: POLL_MS,
      baseBackoffMs: FIRST_RETRY_MS,
      held: () => this.streamRoutes.held(),
      onOutcome: options.onOutcome,
      onError: options.onError,
    });
    this.verifications = new VerificationSender({
      streams,
      store: store.ssf,
      keys,
      courier: options.courier,
      pollQueue: this.pollQueue,
      outbound: options.outbound,
      timeoutMs: PUSH_TIMEOUT_MS,
      onError: options.onError,
    });
  }

  /** Reads the routes (before the first commit), then sends. */
  async start(): Promise<void> {
    await this.refresh();
    this.dispatcher.start();
    this.refresher = setInterval(() => void this.refresh().then(() => this.verify(), this.options.onError), REFRESH_MS);
    this.refresher.unref();
  }

  /** Something was committed here. */
  wake(): void {
    this.dispatcher.wake();
  }

  /** A stream was changed here (SsfStreams' `changed` hook): its routes and verification requests now. */
  streamsChanged(): void {
    void this.streamRoutes.refresh().then(() => {
      this.senders.clear();
      this.dispatcher.wake();
      this.verify();
    }, this.options.onError);
  }

  /** Waits up to `graceMs` for the sends under way; see Dispatcher.stop. */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.refresher);
    await this.dispatcher.stop(graceMs);
    await this.verifying;
  }

  private async refresh(): Promise<void> {
    await Promise.all([this.actionRoutes.refresh(), this.streamRoutes.refresh()]);
    // What changed on another instance since: its senders are made again.
    this.senders.clear();
  }

  /** One round of verification events at a time. */
  private verify(): void {
    this.verifying ??= this.verifications
      .sendPending()
      .catch(this.options.onError)
      .finally(() => (this.verifying = undefined));
  }

  /** A target was changed or deleted here: its deliveries go out with what it is now. */
  targetChanged(targetId: string): void {
    this.senders.forget(destinationName("target", targetId));
  }

  private async senderFor(destination: string): Promise<Sender | undefined> {
    const named = parseDestination(destination);
    if (named?.kind === "target") return targetSender(this.store.actions, named.id, this.options);
    const stream = named && this.streamRoutes.stream(named.id);
    return (
      stream &&
      streamSender(stream, {
        streams: this.streams,
        keys: this.keys,
        courier: this.options.courier,
        users: this.store,
        queue: this.store.ssf,
        pollQueue: this.pollQueue,
        outbound: this.options.outbound,
        timeoutMs: PUSH_TIMEOUT_MS,
      })
    );
  }
}
