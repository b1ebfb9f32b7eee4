/**
 * A server stream that hands its messages over as they come (WatchUserEvents): the fast path's
 * stream handler writes each to the socket in the turn it is made (fast-path/server-stream.ts),
 * where pulling cost a promise and a turn per message and per layer (bench/FINDINGS.md, round
 * "2026-12-06, watchers pushed"). It is also an async iterable, for whoever pulls: Connect-ES's
 * stock handlers (RPC_FAST_PATH=off) and a compressed stream, whose frames wait on compression.
 * A message may come as one that writes its own frame (a watched event's, rpc/watch-encoding.ts):
 * the fast path writes that frame, and whoever pulls is given the message it stands for.
 */

/** A message that writes its own frame; the message itself is made only where something needs it. */
export abstract class SelfFramed<T> {
  /** The 5-byte envelope and the message, binary or JSON; undefined where the serializer must decide. */
  abstract frame(binary: boolean): Uint8Array | undefined;
  abstract message(): T;
}

export const isSelfFramed = (item: unknown): item is SelfFramed<unknown> => item instanceof SelfFramed;

/** Where a push stream's messages go. */
export interface PushReceiver<T> {
  /** A message; false when it waits in memory: nothing more until `resume`. */
  message(message: T | SelfFramed<T>): boolean;
  /** The stream ended: without an error, or with the one to answer with. Nothing comes after it. */
  end(error?: unknown): void;
}

/** A started push stream, as its receiver steers it. */
export interface PushControl {
  /** What the receiver held has left: hand it more. */
  resume(): void;
  /** The receiver has gone: the stream stops without calling `end`. */
  stop(): void;
}

const PUSH = Symbol("pushes its messages");

export interface PushStream<T> extends AsyncIterable<T> {
  readonly [PUSH]: (receiver: PushReceiver<T>) => PushControl;
}

/** A stream that `start` runs into a receiver, once per stream. */
export function pushStream<T>(start: (receiver: PushReceiver<T>) => PushControl): PushStream<T> {
  return { [PUSH]: start, [Symbol.asyncIterator]: () => pulled(start) };
}

export const isPushStream = <T>(stream: AsyncIterable<T>): stream is PushStream<T> => PUSH in stream;

export const startPush = <T>(stream: PushStream<T>, receiver: PushReceiver<T>): PushControl => stream[PUSH](receiver);

/** The stream as an iterator: started on the first pull, each message held until pulled. */
function pulled<T>(start: (receiver: PushReceiver<T>) => PushControl): AsyncIterator<T> {
  const held: (T | SelfFramed<T>)[] = [];
  let control: PushControl | undefined;
  let ended = false;
  let error: unknown;
  let wake: (() => void) | undefined;
  const receiver: PushReceiver<T> = {
    message(message) {
      held.push(message);
      wake?.();
      return false;
    },
    end(err) {
      ended = true;
      error = err;
      wake?.();
    },
  };
  return {
    async next() {
      control ??= start(receiver);
      while (held.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      if (held.length > 0) {
        const value = held.shift()!;
        if (held.length === 0 && !ended) control.resume();
        return { done: false, value: isSelfFramed(value) ? value.message() : value };
      }
      if (error !== undefined) throw error;
      return { done: true, value: undefined };
    },
    async return() {
      if (!ended) control?.stop();
      ended = true;
      held.length = 0;
      return { done: true, value: undefined };
    },
  };
}
