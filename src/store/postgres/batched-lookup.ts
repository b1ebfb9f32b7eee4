/**
 * Look-ups by key that arrive in one turn of the event loop, answered by one read of all their
 * keys (each key once): on PostgreSQL every call reads its token's owner and its user, and one
 * query a turn for each costs the server less than one a call (bench/FINDINGS.md, round
 * "2026-12-06, PostgreSQL's reads a turn"). The read starts after every look-up in it was asked
 * for, so it sees every commit acknowledged before any of them.
 */
import { Batcher } from "../batcher.js";

interface Pending<K, V> {
  key: K;
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
}

export class BatchedLookup<K, V> {
  private readonly pending = new Batcher<Pending<K, V>>(async (items) => {
    try {
      const found = await this.read([...new Set(items.map((item) => item.key))]);
      for (const item of items) item.resolve(found.get(item.key));
    } catch (err) {
      for (const item of items) item.reject(err);
    }
  });

  /** `read` answers the keys it found; a key it leaves out is not there. */
  constructor(private readonly read: (keys: K[]) => Promise<Map<K, V>>) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => void this.pending.add({ key, resolve, reject }));
  }
}
