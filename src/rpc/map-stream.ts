/**
 * A server stream's messages mapped one by one, without an async generator of its own: each
 * layer of `for await … yield` costs a handful of promises and microtask turns per message, and
 * a watcher's message passed through three of them (bench/FINDINGS.md, round "2026-12-05,
 * watcher cost"). Here a message costs one `then`.
 */

/**
 * The items of the iterable `open` resolves to (opened on the first pull, as a generator's body
 * runs on its first `next`), each through `map`; whatever `open` or the source throws, through
 * `fail`. Leaving early (`return`) ends the source, so its `finally` blocks run.
 */
export function mapStream<T, U>(open: () => Promise<AsyncIterable<T>> | AsyncIterable<T>, map: (item: T) => U, fail: (err: unknown) => unknown): AsyncIterable<U> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<U> {
      let opening: Promise<AsyncIterator<T>> | undefined;
      let source: AsyncIterator<T> | undefined;
      const rethrow = (err: unknown): never => {
        throw fail(err);
      };
      const step = (result: IteratorResult<T>): IteratorResult<U> => (result.done === true ? { done: true, value: undefined } : { done: false, value: map(result.value) });
      return {
        next() {
          if (source) return source.next().then(step, rethrow);
          opening ??= (async () => (source = (await open())[Symbol.asyncIterator]()))();
          return opening.then((it) => it.next()).then(step, rethrow);
        },
        async return() {
          await opening?.catch(() => undefined);
          await source?.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
