/**
 * What the poll endpoint (RFC 8936) needs from the delivery side, which keeps each poll stream's
 * SETs until the receiver acknowledges them. The outbox implements it; edge/ssf/poll.ts serves it.
 */

/** RFC 8936 §2.4.4: why the receiver could not accept a SET. */
export interface SetError {
  err: string;
  description?: string;
}

export interface PollQueue {
  /** The receiver acknowledged these SETs: they are delivered and never offered again. Unknown jtis are ignored. */
  ack(streamId: string, jtis: readonly string[]): Promise<void>;
  /** The receiver refused these SETs (jti → error): they are not offered again, and the errors are kept for an administrator. */
  error(streamId: string, errors: ReadonlyMap<string, SetError>): Promise<void>;
  /**
   * Up to `max` SETs not yet acknowledged (offered again until they are), oldest first, and
   * whether more are waiting. With none waiting, waits up to `waitMs` for the first (long poll),
   * less if `signal` aborts (the receiver went away, the server stops); `max` 0 takes nothing and
   * only says whether more are waiting. A paused stream's SETs are held: none are offered.
   */
  take(streamId: string, max: number, waitMs: number, signal: AbortSignal): Promise<{ sets: { jti: string; set: string }[]; moreAvailable: boolean }>;
}
