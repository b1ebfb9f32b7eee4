/**
 * A server stream's errors mapped (the error interceptor's conversion to the protocol's errors),
 * its messages passed on as they are, without an async generator of its own: each layer of
 * `for await … yield` costs a handful of promises and microtask turns per message
 * (bench/FINDINGS.md, round "2026-12-05, watcher cost"). A push stream stays one.
 */
import { isPushStream, pushStream, startPush } from "./push-stream.js";

/** The stream's items; whatever it throws or ends with, through `fail`. Leaving early (`return`) ends the source, so its `finally` blocks run. */
export function mapStreamErrors<T>(source: AsyncIterable<T>, fail: (err: unknown) => unknown): AsyncIterable<T> {
  if (isPushStream(source)) {
    return pushStream<T>((receiver) =>
      startPush(source, {
        message: (message) => receiver.message(message),
        end: (err: unknown) => receiver.end(err === undefined ? undefined : fail(err)),
      }),
    );
  }
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      const rethrow = (err: unknown): never => {
        throw fail(err);
      };
      return {
        next: () => it.next().then(undefined, rethrow),
        async return() {
          await it.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
