/** Sessions in the store: a stale write is a "session" conflict, distinct from a user's, on every backend. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Session } from "../src/domain/sessions.js";
import { ConflictError, type Store } from "../src/store/store.js";
import { STORE_BACKENDS } from "./support/stores.js";

describe.each(STORE_BACKENDS)("sessions on $name", (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
  });
  afterAll(() => dispose());

  it("stores a session, keeps its token hash, and refuses a write decided on an old version", async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const session: Session = { id: "s1", userId: "u1", orgId: "o1", sequence: 1, createdAt: at, changedAt: at, userCheckedAt: at, terminated: false };
    await store.saveSession({ session, expectedSequence: 0, tokenHash: "h1" });
    const next = { ...session, sequence: 2, passwordCheckedAt: at };
    await store.saveSession({ session: next, expectedSequence: 1 });
    expect(await store.getSession("s1")).toEqual({ session: next, tokenHash: "h1" });

    const stale = store.saveSession({ session: { ...session, sequence: 2, terminated: true }, expectedSequence: 1 });
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.toMatchObject({ reason: "session" });
    expect((await store.getSession("s1"))?.session.terminated).toBe(false);
  });
});
