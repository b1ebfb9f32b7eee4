/**
 * The receivers' event streams (SSF §8): configuration, status, subjects and verification
 * requests, for the stream management API; and which streams a user's events go to, for the
 * delivery side.
 */
import { DomainError } from "../../domain/errors.js";
import type { Principal } from "../../domain/permissions.js";
import { canReadAllStreams, canSeeStream, requireManage, requireRead } from "../../domain/ssf/access.js";
import { PUSH } from "../../domain/ssf/event-types.js";
import { eventsDeliveredFor, type ReceiverConfig, type SsfStream, type StreamStatus } from "../../domain/ssf/stream.js";
import { includesUser, subjectKey, userSubjects, type DefaultSubjects, type SubjectId } from "../../domain/ssf/subjects.js";
import { newId } from "../../security/ids.js";
import { checkOutboundUrl, type OutboundPolicy } from "../../security/outbound-urls.js";
import { ConflictError } from "../../store/store.js";
import type { PendingVerification, SsfStore } from "../../store/ssf-store.js";

export interface TransmitterSettings {
  /** The `iss` of every SET and of the discovery document (SSF_ISSUER). */
  issuer: string;
  /** Whether a new stream starts with every subject or none (SSF_DEFAULT_SUBJECTS). */
  defaultSubjects: DefaultSubjects;
  /** The least time between two verification requests of a stream (its min_verification_interval). */
  minVerificationIntervalS: number;
}

/** A request refused for now: ask again after `retryAfterS` seconds (HTTP 429, Retry-After). */
export class RetryLater extends DomainError {
  constructor(
    text: string,
    readonly retryAfterS: number,
  ) {
    super("ResourceExhausted", undefined, text);
  }
}

export interface StreamHooks {
  now?: () => Date;
  /**
   * A stream was created, changed, deleted or asked for verification here: the delivery side
   * looks at once (it also reads them again on its own, for changes made on other instances).
   */
  changed?: () => void;
}

export class SsfStreams {
  constructor(
    private readonly store: SsfStore,
    readonly settings: TransmitterSettings,
    /** Where push endpoints may point (OUTBOUND_URL_ALLOW), checked when a stream is created or changed. */
    private readonly outbound: OutboundPolicy,
    private readonly hooks: StreamHooks = {},
  ) {}

  private now(): Date {
    return this.hooks.now?.() ?? new Date();
  }

  /** SSF §8.1.1.1: one stream per receiver (the caller); a second is refused with AlreadyExists (409). */
  async create(caller: Principal, config: ReceiverConfig): Promise<SsfStream> {
    requireManage(caller);
    this.checkDelivery(config);
    const at = this.now();
    const stream: SsfStream = {
      ...config,
      id: newId(at.getTime()),
      receiverId: caller.userId,
      aud: caller.userId,
      eventsDelivered: eventsDeliveredFor(config.eventsRequested),
      defaultSubjects: this.settings.defaultSubjects,
      status: "enabled",
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.store.insertStream(stream);
    } catch (err) {
      if (err instanceof ConflictError && err.reason === "receiver") {
        throw new DomainError("AlreadyExists", undefined, "this receiver has a stream already: read it, then update or replace it");
      }
      throw err;
    }
    this.hooks.changed?.();
    return stream;
  }

  /** SSF §8.1.1.2 without stream_id: every stream for ssf.read, else the caller's. */
  async list(caller: Principal): Promise<SsfStream[]> {
    requireRead(caller);
    return this.store.listStreams(canReadAllStreams(caller) ? undefined : caller.userId);
  }

  async get(caller: Principal, streamId: string): Promise<SsfStream> {
    requireRead(caller);
    const stream = await this.store.getStream(streamId);
    if (!stream || !canSeeStream(caller, stream)) throw notFound(streamId);
    return stream;
  }

  /**
   * SSF §8.1.1.3 and §8.1.1.4: `change` gives the new receiver's choices from the stream as it is
   * (it may refuse, e.g. a Transmitter-Supplied property that does not match).
   */
  async change(caller: Principal, streamId: string, change: (current: SsfStream) => ReceiverConfig): Promise<SsfStream> {
    const current = await this.writable(caller, streamId);
    const config = change(current);
    this.checkDelivery(config);
    const eventsDelivered = eventsDeliveredFor(config.eventsRequested);
    const at = this.now();
    if (!(await this.store.updateStreamConfig(streamId, { ...config, eventsDelivered }, at))) throw notFound(streamId);
    this.hooks.changed?.();
    const { eventsRequested, description, ...kept } = current;
    return { ...kept, ...config, eventsDelivered, updatedAt: at };
  }

  async delete(caller: Principal, streamId: string): Promise<void> {
    await this.writable(caller, streamId);
    if (!(await this.store.deleteStream(streamId))) throw notFound(streamId);
    this.hooks.changed?.();
  }

  async setStatus(caller: Principal, streamId: string, status: StreamStatus, reason?: string): Promise<SsfStream> {
    const current = await this.writable(caller, streamId);
    const at = this.now();
    if (!(await this.store.setStreamStatus(streamId, status, reason, at))) throw notFound(streamId);
    this.hooks.changed?.();
    const { statusReason, ...kept } = current;
    return { ...kept, status, ...(reason !== undefined && { statusReason: reason }), updatedAt: at };
  }

  /** SSF §8.1.3.2 and §8.1.3.3; subjects.ts says what an added or removed subject does. */
  async setSubject(caller: Principal, streamId: string, subject: SubjectId, included: boolean): Promise<void> {
    await this.writable(caller, streamId);
    await this.store.setSubject(streamId, subjectKey(subject), included);
  }

  /**
   * SSF §8.1.4.2: records the request for the delivery side (pendingVerifications), at most one
   * per min_verification_interval; sooner ones are refused with RetryLater (429).
   */
  async requestVerification(caller: Principal, streamId: string, state: string | undefined): Promise<void> {
    const stream = await this.writable(caller, streamId);
    const at = this.now();
    const intervalMs = this.settings.minVerificationIntervalS * 1000;
    if (!(await this.store.requestVerification(streamId, state, at, new Date(at.getTime() - intervalMs)))) {
      const waitMs = (stream.lastVerificationAt?.getTime() ?? at.getTime()) + intervalMs - at.getTime();
      throw new RetryLater(`one verification request per ${this.settings.minVerificationIntervalS} s per stream`, Math.max(1, Math.ceil(waitMs / 1000)));
    }
    this.hooks.changed?.();
  }

  /** The caller's own stream, for polling it (RFC 8936); a push stream has no poll endpoint (NotFound). */
  async forPolling(caller: Principal, streamId: string): Promise<SsfStream> {
    const stream = await this.writable(caller, streamId);
    if (stream.delivery.method === PUSH) throw notFound(streamId);
    return stream;
  }

  /**
   * For the delivery side: whether the stream is to get a user's events now. A disabled stream
   * drops them; a paused one holds them (the delivery side sends them when it is enabled again);
   * its subjects (subjects.ts) say whether this user is in.
   */
  async delivers(stream: Pick<SsfStream, "id" | "status" | "defaultSubjects">, userId: string, email?: string): Promise<boolean> {
    if (stream.status === "disabled") return false;
    const subjects = userSubjects(this.settings.issuer, userId, email);
    return includesUser(stream.defaultSubjects, await this.store.subjectEntries(stream.id, subjects.map(subjectKey)), subjects);
  }

  /** For the delivery side: the oldest verification requests not yet taken. */
  pendingVerifications(limit: number): Promise<PendingVerification[]> {
    return this.store.pendingVerifications(limit);
  }

  /** For the delivery side: the request is in the outbox now. */
  verificationTaken(id: number): Promise<void> {
    return this.store.deleteVerification(id);
  }

  /** A stream the caller may change: its own, with ssf.manage. Others' it may only read (PermissionDenied). */
  private async writable(caller: Principal, streamId: string): Promise<SsfStream> {
    requireManage(caller);
    const stream = await this.store.getStream(streamId);
    if (!stream || !canSeeStream(caller, stream)) throw notFound(streamId);
    if (stream.receiverId !== caller.userId) throw new DomainError("PermissionDenied", undefined, `stream ${streamId} belongs to another receiver`);
    return stream;
  }

  private checkDelivery(config: ReceiverConfig): void {
    if (config.delivery.method !== PUSH) return;
    const verdict = checkOutboundUrl(config.delivery.endpointUrl, this.outbound);
    if (!verdict.allowed) throw new DomainError("InvalidArgument", undefined, `invalid stream configuration: delivery.endpoint_url: ${verdict.reason}`);
  }
}

const notFound = (streamId: string) => new DomainError("NotFound", undefined, `no stream ${streamId} for this receiver`);
