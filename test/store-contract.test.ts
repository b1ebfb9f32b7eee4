/**
 * The Store contract, run with identical expectations against every backend of
 * STORE_BACKENDS (SQLite, PGlite, and a real PostgreSQL when TEST_POSTGRES_URL is set).
 * One store per backend is shared by the tests; each test works in organizations and
 * with user ids of its own, so tests do not see each other's users.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserApp } from "../src/app/user-app.js";
import { DomainError } from "../src/domain/errors.js";
import { applyEvent, type RecordedUserEvent, type UserEvent } from "../src/domain/events.js";
import type { Principal } from "../src/domain/permissions.js";
import type { HumanDetails, User, UserState } from "../src/domain/user.js";
import type { TextMatch, UserFilter, UserListQuery, UserSortField } from "../src/domain/user-query.js";
import { hashToken } from "../src/security/tokens.js";
import { ConflictError, type Store, type UserCommit } from "../src/store/store.js";
import { STORE_BACKENDS } from "./support/stores.js";

// ---------------------------------------------------------------- builders

let counter = 0;
/** Unique within the file (and so within one store); sorts in creation order. */
const uniq = (prefix: string) => `${prefix}-${String(++counter).padStart(5, "0")}`;

const BASE_TIME = Date.UTC(2024, 2, 5, 6, 7, 8, 123);
/** A distinct instant with milliseconds, so that rounding to seconds or microseconds shows. */
const at = (n: number) => new Date(BASE_TIME + n * 1_001 + (n % 7) * 37);

type StateEvent = "user.locked" | "user.unlocked" | "user.deactivated" | "user.reactivated" | "user.removed";

function record(userId: string, sequence: number, event: UserEvent, createdAt: Date): RecordedUserEvent {
  return { ...event, userId, sequence, actor: "contract-test", createdAt };
}

function newHuman(
  orgId: string,
  username: string,
  options: { id?: string; createdAt?: Date; human?: Partial<HumanDetails> & { profile?: HumanDetails["profile"] } } = {},
): UserCommit {
  const human: HumanDetails = {
    profile: { givenName: "Gigi", familyName: "Giraffe" },
    email: `${username.replace(/[^a-zA-Z0-9.-]/g, "x")}@example.com`,
    emailVerified: false,
    passwordChangeRequired: false,
    ...options.human,
  };
  const event = record(
    options.id ?? uniq("h"),
    1,
    { type: "user.human.added", payload: { orgId, username, human } },
    options.createdAt ?? at(counter),
  );
  return { events: [event], user: applyEvent(undefined, event) };
}

function newMachine(
  orgId: string,
  username: string,
  options: { id?: string; createdAt?: Date; description?: string } = {},
): UserCommit {
  const event = record(
    options.id ?? uniq("m"),
    1,
    {
      type: "user.machine.added",
      payload: { orgId, username, machine: { name: `${username} name`, description: options.description ?? "a bot" } },
    },
    options.createdAt ?? at(counter),
  );
  return { events: [event], user: applyEvent(undefined, event) };
}

/** The next change of a user as it was loaded. */
function change(user: User, type: StateEvent, createdAt = new Date(user.changedAt.getTime() + 1_234)): UserCommit {
  const event = record(user.id, user.sequence + 1, { type }, createdAt);
  return { previous: user, events: [event], user: applyEvent(user, event) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject");
}

async function expectConflict(promise: Promise<unknown>, reason: ConflictError["reason"]): Promise<void> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(ConflictError);
  // Soft, so that the test goes on to check that nothing of the refused commit was stored.
  expect.soft((err as ConflictError).reason).toBe(reason);
}

/** Code point order, as SQLite's BINARY and PostgreSQL's C collation compare text. */
function compareText(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const query = (q: Partial<UserListQuery> & { filters: UserFilter[] }): UserListQuery => ({
  visibleOrgs: "all",
  callerId: "nobody",
  sort: "userName",
  asc: true,
  offset: 0,
  limit: 1000,
  ...q,
});

const F = {
  org: (orgId: string): UserFilter => ({ kind: "org", orgId }),
  name: (value: string, match: TextMatch): UserFilter => ({ kind: "userName", value, match }),
  state: (state: UserState): UserFilter => ({ kind: "state", state }),
  type: (type: "human" | "machine"): UserFilter => ({ kind: "type", type }),
  ids: (...ids: string[]): UserFilter => ({ kind: "ids", ids }),
  and: (...filters: UserFilter[]): UserFilter => ({ kind: "and", filters }),
  or: (...filters: UserFilter[]): UserFilter => ({ kind: "or", filters }),
  not: (filter: UserFilter): UserFilter => ({ kind: "not", filter }),
};

const SORT_FIELDS: UserSortField[] = [
  "userName",
  "firstName",
  "lastName",
  "nickName",
  "displayName",
  "email",
  "state",
  "type",
  "creationDate",
];

/** The value a sort field orders by; undefined when the user has none. */
function sortKey(user: User, field: UserSortField): string | number | undefined {
  const h = user.human;
  switch (field) {
    case "userName":
      return user.username;
    case "firstName":
      return h?.profile.givenName;
    case "lastName":
      return h?.profile.familyName;
    case "nickName":
      return h?.profile.nickName;
    case "displayName":
      return h?.profile.displayName;
    case "email":
      return h?.email;
    case "state":
      // By the state's number in the API, as ZITADEL sorts: ACTIVE 1, INACTIVE 2, DELETED 3, LOCKED 4, INITIAL 5.
      return STATE_NUMBER[stateOf(user)];
    case "type":
      return user.type;
    case "creationDate":
      return user.createdAt.getTime();
  }
}

const STATE_NUMBER: Record<UserState, number> = { active: 1, inactive: 2, deleted: 3, locked: 4, initial: 5 };

function stateOf(user: User): UserState {
  const f = user.flags;
  return f.removed ? "deleted" : f.inactive ? "inactive" : f.locked ? "locked" : f.initial ? "initial" : "active";
}

/** The expected order: by the field, then by id, both in the query's direction; a missing value sorts as the empty string. */
function expectedOrder(users: User[], field: UserSortField, asc: boolean): string[] {
  const ordered = [...users].sort((a, b) => {
    const ka = sortKey(a, field) ?? "";
    const kb = sortKey(b, field) ?? "";
    const byKey = typeof ka === "number" && typeof kb === "number" ? ka - kb : compareText(String(ka), String(kb));
    return byKey !== 0 ? byKey : compareText(a.id, b.id);
  });
  return (asc ? ordered : ordered.reverse()).map((u) => u.id);
}

// ---------------------------------------------------------------- the contract

describe.each(STORE_BACKENDS)("Store contract on $name", (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let app: UserApp;
  let adminToken: string | undefined;
  let admin: Principal;

  const newOrg = async (name = uniq("org")) => {
    const org = { id: uniq("o"), name, createdAt: at(counter) };
    await store.addOrganization(org);
    return org.id;
  };
  /** Commits and returns the user as committed. */
  const commit = async (c: UserCommit) => {
    await store.commitUser(c);
    return c.user;
  };
  const list = (q: Partial<UserListQuery> & { filters: UserFilter[] }) => store.listUsers(query(q));
  const listIds = async (q: Partial<UserListQuery> & { filters: UserFilter[] }) => (await list(q)).users.map((u) => u.id);

  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
    app = new UserApp(store);
    // The first thing that happens to a fresh store; the test below checks what it did.
    adminToken = await app.initialize("Default", "admin");
    admin = await app.authenticate(`Bearer ${adminToken}`);
  });
  let disposed = false;
  afterAll(async () => {
    if (!disposed) await dispose?.();
  });

  describe("initialize", () => {
    it("creates the organization and an IAM_OWNER admin once; then refuses", async () => {
      expect(adminToken).toEqual(expect.any(String));
      const owner = await store.findTokenOwner(hashToken(adminToken!));
      expect(owner).toBeDefined();
      expect(owner!.user).toMatchObject({ type: "machine", username: "admin", sequence: 1 });
      expect(owner!.user.flags).toEqual({ initial: false, locked: false, inactive: false, removed: false });
      expect(owner!.grants).toEqual([{ role: "IAM_OWNER", orgId: null }]);
      const org = await store.getOrganization(owner!.user.orgId);
      expect(org).toMatchObject({ id: owner!.user.orgId, name: "Default" });
      expect(await store.getUser(owner!.user.id)).toEqual(owner!.user);
      expect(admin).toEqual({ userId: owner!.user.id, orgId: owner!.user.orgId, grants: [{ role: "IAM_OWNER", orgId: null }] });

      // Second call: nothing new, no token.
      expect(await app.initialize("Other", "admin2")).toBeUndefined();
      const everyone = await list({ filters: [F.type("machine"), F.name("admin2", "equals")] });
      expect(everyone.total).toBe(0);
    });

    it("findTokenOwner: an unknown hash finds nobody", async () => {
      expect(await store.findTokenOwner(hashToken("not-a-token"))).toBeUndefined();
      expect(await store.findTokenOwner("")).toBeUndefined();
      // The token itself (not its hash) is no key either.
      expect(await store.findTokenOwner(adminToken!)).toBeUndefined();
    });

    it("initialize on a store that already has an organization returns false and stores nothing", async () => {
      const orgId = uniq("o");
      const first = newMachine(orgId, "late-admin");
      first.grants = [{ role: "IAM_OWNER", orgId: null }];
      first.tokenHash = hashToken("late-token");
      expect(await store.initialize({ id: orgId, name: "Late", createdAt: at(1) }, first)).toBe(false);
      expect(await store.getOrganization(orgId)).toBeUndefined();
      expect(await store.getUser(first.user.id)).toBeUndefined();
      expect(await store.findTokenOwner(hashToken("late-token"))).toBeUndefined();
    });
  });

  describe("organizations", () => {
    it("addOrganization / getOrganization round trip", async () => {
      const org = { id: uniq("o"), name: "Ünïcode & Co. 'quoted'", createdAt: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678)) };
      await store.addOrganization(org);
      const got = await store.getOrganization(org.id);
      expect(got).toEqual(org);
      expect(got!.createdAt.getTime()).toBe(org.createdAt.getTime());
    });

    it("an unknown organization is undefined", async () => {
      expect(await store.getOrganization("no-such-org")).toBeUndefined();
    });
  });

  describe("commitUser round trip", () => {
    it("a human with every profile field", async () => {
      const orgId = await newOrg();
      const c = newHuman(orgId, "Élodie.Durand", {
        createdAt: new Date(Date.UTC(2024, 6, 14, 23, 59, 59, 987)),
        human: {
          profile: {
            givenName: "Élodie",
            familyName: "Durand",
            nickName: "Lo",
            displayName: "Élodie D.",
            preferredLanguage: "fr",
            gender: "female",
          },
          email: "elodie@example.com",
          emailVerified: true,
          passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
          passwordChangeRequired: true,
        },
      });
      await store.commitUser(c);
      const got = await store.getUser(c.user.id);
      expect(got).toEqual(c.user);
      expect(got!.machine).toBeUndefined();
      expect(got!.human).toEqual({
        profile: {
          givenName: "Élodie",
          familyName: "Durand",
          nickName: "Lo",
          displayName: "Élodie D.",
          preferredLanguage: "fr",
          gender: "female",
        },
        email: "elodie@example.com",
        emailVerified: true,
        passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        passwordChangeRequired: true,
      });
      expect(got!.flags).toEqual({ initial: false, locked: false, inactive: false, removed: false });
      expect(got!.createdAt.toISOString()).toBe("2024-07-14T23:59:59.987Z");
      expect(got!.changedAt.toISOString()).toBe("2024-07-14T23:59:59.987Z");
      expect(got!.sequence).toBe(1);
    });

    it("a human with only the required fields comes back without the optional ones", async () => {
      const orgId = await newOrg();
      const c = newHuman(orgId, "plain", { human: { email: "plain@example.com", emailVerified: false } });
      await store.commitUser(c);
      const got = await store.getUser(c.user.id);
      expect(got).toEqual(c.user);
      const p = got!.human!.profile;
      expect([p.nickName, p.displayName, p.preferredLanguage, p.gender, got!.human!.passwordHash]).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      expect(got!.human!.emailVerified).toBe(false);
      expect(got!.human!.passwordChangeRequired).toBe(false);
      expect(got!.flags.initial).toBe(true); // no password yet
    });

    it("a machine user", async () => {
      const orgId = await newOrg();
      const c = newMachine(orgId, "robot", { description: "does things", createdAt: new Date(Date.UTC(2030, 11, 31, 0, 0, 0, 1)) });
      await store.commitUser(c);
      const got = await store.getUser(c.user.id);
      expect(got).toEqual(c.user);
      expect(got!.machine).toEqual({ name: "robot name", description: "does things" });
      expect(got!.human).toBeUndefined();
      expect(got!.createdAt.getTime()).toBe(Date.UTC(2030, 11, 31, 0, 0, 0, 1));
    });

    it("changes: each commit replaces the user; sequence and changedAt advance, createdAt stays", async () => {
      const orgId = await newOrg();
      let user = await commit(newHuman(orgId, "changer", { human: { passwordHash: "x" } }));
      for (const type of ["user.locked", "user.deactivated", "user.unlocked", "user.reactivated"] as const) {
        const c = change(user, type);
        await store.commitUser(c);
        const got = await store.getUser(user.id);
        expect(got).toEqual(c.user);
        user = got!;
      }
      expect(user.sequence).toBe(5);
      expect(stateOf(user)).toBe("active");
      expect(user.changedAt.getTime()).toBeGreaterThan(user.createdAt.getTime());
    });

    it("an unknown user is undefined", async () => {
      expect(await store.getUser("no-such-user")).toBeUndefined();
    });

    it("a machine user's grants and token are stored with it", async () => {
      const orgId = await newOrg();
      const c = newMachine(orgId, "granted");
      c.grants = [
        { role: "ORG_USER_MANAGER", orgId },
        { role: "ORG_OWNER_VIEWER", orgId: "other-org" },
      ];
      c.tokenHash = hashToken("granted-token");
      await store.commitUser(c);
      const owner = await store.findTokenOwner(hashToken("granted-token"));
      expect(owner?.user).toEqual(c.user);
      const byRole = (a: { role: string }, b: { role: string }) => compareText(a.role, b.role);
      expect([...owner!.grants].sort(byRole)).toEqual([...c.grants].sort(byRole));
    });

    it("reads asked for together each get their own answer, repeated or unknown, and a later one sees every commit before it", async () => {
      const org = { id: uniq("o"), name: uniq("together.org"), createdAt: at(counter) };
      await store.addOrganization(org);
      const orgId = org.id;
      const users = [await commit(newHuman(orgId, uniq("together.read"))), await commit(newMachine(orgId, uniq("together.read")))];
      const token = newMachine(orgId, uniq("together.owner"));
      token.tokenHash = hashToken("together-token");
      const owner = await commit(token);
      const [a, b, again, missing, found, unknown, organization, userIdAsOrg, orgIdAsUser] = await Promise.all([
        store.getUser(users[0]!.id),
        store.getUser(users[1]!.id),
        store.getUser(users[1]!.id),
        store.getUser("no-such-user"),
        store.findTokenOwner(hashToken("together-token")),
        store.findTokenOwner(hashToken("no-such-token")),
        store.getOrganization(orgId),
        store.getOrganization(users[0]!.id),
        store.getUser(orgId),
      ]);
      expect([a, b, again, missing]).toEqual([users[0], users[1], users[1], undefined]);
      expect(found?.user).toEqual(owner);
      expect(unknown).toBeUndefined();
      // A key asked for as one kind answers only as that kind.
      expect([organization, userIdAsOrg, orgIdAsUser]).toEqual([org, undefined, undefined]);
      const locked = [change(users[0]!, "user.locked"), change(owner, "user.locked")];
      await Promise.all(locked.map((c) => store.commitUser(c)));
      const [after, ownerAfter] = await Promise.all([store.getUser(users[0]!.id), store.findTokenOwner(hashToken("together-token"))]);
      expect(after).toEqual(locked[0]!.user);
      expect(ownerAfter?.user).toEqual(locked[1]!.user);
    });
  });

  describe("conflicts", () => {
    it('a new user with an existing id → ConflictError("userId"); nothing of it is stored', async () => {
      const orgId = await newOrg();
      const otherOrg = await newOrg();
      const original = await commit(newHuman(orgId, "first"));
      const before = await list({ filters: [F.org(orgId)] });

      // Same id, other username, same org.
      await expectConflict(store.commitUser(newHuman(orgId, "second", { id: original.id })), "userId");
      // Same id, another organization, a machine with a token.
      const machine = newMachine(otherOrg, "third", { id: original.id });
      machine.grants = [{ role: "IAM_OWNER", orgId: null }];
      machine.tokenHash = hashToken(`${original.id}-token`);
      await expectConflict(store.commitUser(machine), "userId");

      expect(await store.getUser(original.id)).toEqual(original);
      expect(await list({ filters: [F.org(orgId)] })).toEqual(before);
      expect((await list({ filters: [F.org(otherOrg)] })).total).toBe(0);
      expect(await store.findTokenOwner(hashToken(`${original.id}-token`))).toBeUndefined();
      // The user itself carries on with its next sequence.
      const locked = change(original, "user.locked");
      await store.commitUser(locked);
      expect(await store.getUser(original.id)).toEqual(locked.user);
      expect(locked.user.sequence).toBe(2);
    });

    it('an existing username in the same org → ConflictError("username"); nothing of it is stored', async () => {
      const orgId = await newOrg();
      const taken = await commit(newHuman(orgId, "taken.name"));
      const human = newHuman(orgId, "taken.name");
      await expectConflict(store.commitUser(human), "username");
      const machine = newMachine(orgId, "taken.name");
      machine.grants = [{ role: "ORG_OWNER", orgId }];
      machine.tokenHash = hashToken(`${machine.user.id}-token`);
      await expectConflict(store.commitUser(machine), "username");

      expect(await store.getUser(human.user.id)).toBeUndefined();
      expect(await store.getUser(machine.user.id)).toBeUndefined();
      expect(await store.findTokenOwner(hashToken(`${machine.user.id}-token`))).toBeUndefined();
      expect(await listIds({ filters: [F.org(orgId)] })).toEqual([taken.id]);

      // The rejected ids left nothing behind: they can be created afterwards under a free name.
      const retried = newHuman(orgId, "free.name", { id: human.user.id });
      await store.commitUser(retried);
      expect(await store.getUser(human.user.id)).toEqual(retried.user);
      const retriedMachine = newMachine(orgId, "free.machine", { id: machine.user.id });
      retriedMachine.tokenHash = hashToken(`${machine.user.id}-token`);
      await store.commitUser(retriedMachine);
      expect((await store.findTokenOwner(hashToken(`${machine.user.id}-token`)))?.user.id).toBe(machine.user.id);
    });

    it("a commit that fails after writing part of itself leaves none of it; commits sent with it are kept", async () => {
      const orgId = await newOrg();
      const owner = newMachine(orgId, "token.owner");
      owner.tokenHash = hashToken(`${owner.user.id}-token`);
      await store.commitUser(owner);
      // Its user and event rows are written before its token row, which repeats owner's token.
      const failing = newMachine(orgId, "half.written");
      failing.tokenHash = owner.tokenHash;
      const before = newHuman(orgId, "sent.before");
      const after = newHuman(orgId, "sent.after");

      const raced = await Promise.allSettled([before, failing, after].map((c) => store.commitUser(c)));
      expect(raced.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      // Not one of the conflicts a store checks before writing: this one came from the token row.
      expect((raced[1] as PromiseRejectedResult).reason).not.toBeInstanceOf(ConflictError);
      expect(await store.getUser(failing.user.id)).toBeUndefined();
      const listed = await list({ filters: [F.org(orgId)] });
      expect(listed.users.map((u) => u.id).sort()).toEqual([owner.user.id, before.user.id, after.user.id].sort());
      // The count rows its user row had moved are back too.
      expect(listed.total).toBe(3);
      expect((await store.findTokenOwner(owner.tokenHash))?.user.id).toBe(owner.user.id);
      // Its id and its event sequence were not taken: the same user can be created afterwards.
      const retried = newMachine(orgId, "half.written", { id: failing.user.id });
      await store.commitUser(retried);
      expect(await store.getUser(failing.user.id)).toEqual(retried.user);
    });

    it("the same username in another org is fine", async () => {
      const orgA = await newOrg();
      const orgB = await newOrg();
      const a = await commit(newHuman(orgA, "same.name"));
      const b = await commit(newMachine(orgB, "same.name"));
      expect(await store.getUser(a.id)).toEqual(a);
      expect(await store.getUser(b.id)).toEqual(b);
      expect(await listIds({ filters: [F.name("same.name", "equals"), F.or(F.org(orgA), F.org(orgB))], sort: "type" })).toEqual([
        a.id,
        b.id,
      ]);
    });

    it("a removed user's username is free again", async () => {
      const orgId = await newOrg();
      const gone = await commit(newHuman(orgId, "recycled"));
      const removed = change(gone, "user.removed");
      await store.commitUser(removed);
      expect((await store.getUser(gone.id))?.flags.removed).toBe(true);
      const again = await commit(newHuman(orgId, "recycled"));
      expect(await store.getUser(again.id)).toEqual(again);
      // Only the live one is listed; a second live one is still refused.
      expect(await listIds({ filters: [F.org(orgId)] })).toEqual([again.id]);
      await expectConflict(store.commitUser(newHuman(orgId, "recycled")), "username");
      // The removed user's row is unchanged.
      expect(await store.getUser(gone.id)).toEqual(removed.user);
    });

    it('a stale previous user → ConflictError("sequence"); nothing of it is stored; the next correct commit succeeds', async () => {
      const orgId = await newOrg();
      const v1 = await commit(newHuman(orgId, "seq.user", { human: { passwordHash: "h" } }));
      const v2 = await commit(change(v1, "user.locked"));
      expect(v2.sequence).toBe(2);

      // Decided on v1 although v2 is stored.
      await expectConflict(store.commitUser(change(v1, "user.deactivated")), "sequence");
      // Decided on a sequence from the future.
      await expectConflict(store.commitUser(change({ ...v2, sequence: 7 }, "user.unlocked")), "sequence");
      const stored = await store.getUser(v1.id);
      expect(stored).toEqual(v2);
      expect(stateOf(stored!)).toBe("locked");

      const v3 = change(v2, "user.unlocked");
      await store.commitUser(v3);
      expect(await store.getUser(v1.id)).toEqual(v3.user);
      expect(v3.user.sequence).toBe(3);
      expect(stateOf(v3.user)).toBe("active");
    });

    it('a change to a user that does not exist → ConflictError("sequence"), and it is not created', async () => {
      const orgId = await newOrg();
      const ghost = newHuman(orgId, "ghost").user;
      await expectConflict(store.commitUser(change(ghost, "user.locked")), "sequence");
      expect(await store.getUser(ghost.id)).toBeUndefined();
      expect((await list({ filters: [F.org(orgId)] })).total).toBe(0);
    });
  });

  describe("concurrency", () => {
    it("commits made together: each is stored and counted, a stale one and a taken username are refused alone", async () => {
      const orgId = await newOrg();
      const users: User[] = [];
      for (let i = 0; i < 12; i++) users.push(await commit(newHuman(orgId, uniq("together"))));
      const [first, ...others] = users as [User, ...User[]];
      await store.commitUser(change(first, "user.locked"));

      // One turn: eleven changes of different users and one decided on a sequence that has moved on.
      const changes = others.map((u, i) => change(u, i % 2 ? "user.locked" : "user.deactivated"));
      const stale = change(first, "user.deactivated");
      const together = await Promise.allSettled([...changes, stale].map((c) => store.commitUser(c)));
      expect(together.slice(0, -1).map((r) => r.status)).toEqual(changes.map(() => "fulfilled"));
      await expectConflict(Promise.reject((together.at(-1) as PromiseRejectedResult).reason), "sequence");
      for (const c of changes) expect(await store.getUser(c.user.id)).toEqual(c.user);
      expect((await store.getUser(first.id))?.sequence).toBe(2);
      const count = async (state: UserState) => (await list({ filters: [F.org(orgId), F.state(state)] })).total;
      expect({ locked: await count("locked"), inactive: await count("inactive"), initial: await count("initial") }).toEqual({ locked: 6, inactive: 6, initial: 0 });

      // Another turn with a username that is taken: that one is refused, the rest are stored.
      const clash = newHuman(orgId, others[0]!.username);
      const fresh = newHuman(orgId, uniq("fresh"));
      const unlocked = change((await store.getUser(first.id))!, "user.unlocked");
      const next = await Promise.allSettled([clash, fresh, unlocked].map((c) => store.commitUser(c)));
      await expectConflict(Promise.reject((next[0] as PromiseRejectedResult).reason), "username");
      expect(next.slice(1).map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
      expect(await store.getUser(clash.user.id)).toBeUndefined();
      expect(await store.getUser(fresh.user.id)).toEqual(fresh.user);
      expect({ locked: await count("locked"), initial: await count("initial") }).toEqual({ locked: 5, initial: 2 });
    });

    it("25 concurrent locks through UserApp: one succeeds, 24 FailedPrecondition; then 25 concurrent commits from one previous user: one wins", async () => {
      const orgId = (await app.addOrganization(uniq("race"))).id;
      const { userId } = await app.addHuman(
        {
          orgId,
          username: uniq("racer"),
          profile: { givenName: "Race", familyName: "Condition" },
          email: "race@example.com",
          emailVerified: true,
          passwordChangeRequired: false,
        },
        admin,
      );
      const results = await Promise.allSettled(Array.from({ length: 25 }, () => app.changeState("lock", userId, admin)));
      const ok = results.filter((r) => r.status === "fulfilled");
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason);
      expect(ok).toHaveLength(1);
      expect(ok[0]!.value.sequence).toBe(2);
      expect(failed).toHaveLength(24);
      for (const err of failed) {
        expect(err).toBeInstanceOf(DomainError);
        expect({ kind: (err as DomainError).kind, id: (err as DomainError).id }).toEqual({
          kind: "FailedPrecondition",
          id: "COMMAND-lgws8wtsqf",
        });
      }
      const locked = await store.getUser(userId);
      expect(locked?.sequence).toBe(2);
      expect(stateOf(locked!)).toBe("locked");

      // The store alone: 25 commits all decided on sequence 2.
      const commits = Array.from({ length: 25 }, (_, i) =>
        change(locked!, i % 2 ? "user.unlocked" : "user.removed", new Date(locked!.changedAt.getTime() + 1 + i)),
      );
      const raced = await Promise.allSettled(commits.map((c) => store.commitUser(c)));
      const winners = raced.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of raced) {
        if (r.status === "rejected") {
          expect(r.reason).toBeInstanceOf(ConflictError);
          expect((r.reason as ConflictError).reason).toBe("sequence");
        }
      }
      expect(await store.getUser(userId)).toEqual(commits[winners[0]!]!.user);
      // And the loser's state is nowhere: the next commit is sequence 4.
      const after = await store.getUser(userId);
      const next = change(after!, after!.flags.removed ? "user.removed" : "user.locked");
      await store.commitUser(next);
      expect((await store.getUser(userId))?.sequence).toBe(4);
    });

    it("concurrent creations with one username in one org: exactly one succeeds", async () => {
      const orgId = await newOrg();
      const commits = Array.from({ length: 10 }, () => newHuman(orgId, "contended"));
      const raced = await Promise.allSettled(commits.map((c) => store.commitUser(c)));
      expect(raced.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of raced) {
        if (r.status === "rejected") {
          expect(r.reason).toBeInstanceOf(ConflictError);
          expect((r.reason as ConflictError).reason).toBe("username");
        }
      }
      expect((await list({ filters: [F.org(orgId)] })).total).toBe(1);
    });
  });

  describe("listUsers", () => {
    describe("userName text matching", () => {
      let orgId: string;
      const byName = new Map<string, string>();
      const NAMES = [
        "Élodie.Martin",
        "élodie",
        "ÉLODIE",
        "marc.élodie",
        "a%b",
        "a_b",
        "axb",
        "axxb",
        "ab",
        "Bob",
        "bob_smith",
      ];

      beforeAll(async () => {
        orgId = await newOrg();
        for (const name of NAMES) byName.set(name, (await commit(newHuman(orgId, name))).id);
        // Another org with the same names must not show up.
        const other = await newOrg();
        for (const name of NAMES) await commit(newHuman(other, name));
      });

      const CASES: [TextMatch, string, string[]][] = [
        ["equals", "élodie", ["élodie"]],
        ["equals", "ÉLODIE", ["ÉLODIE"]],
        ["equals", "Élodie", []],
        ["equalsIgnoreCase", "ÉLODIE", ["élodie", "ÉLODIE"]],
        ["equalsIgnoreCase", "élodie", ["élodie", "ÉLODIE"]],
        ["startsWith", "Élodie", ["Élodie.Martin"]],
        ["startsWith", "élodie", ["élodie"]],
        ["startsWithIgnoreCase", "ÉLODIE", ["Élodie.Martin", "élodie", "ÉLODIE"]],
        ["contains", "lodie", ["Élodie.Martin", "élodie", "marc.élodie"]],
        ["contains", "élodie", ["élodie", "marc.élodie"]],
        ["containsIgnoreCase", "ÉLODIE", ["Élodie.Martin", "élodie", "ÉLODIE", "marc.élodie"]],
        ["containsIgnoreCase", "LODIE.", ["Élodie.Martin"]],
        ["endsWith", "élodie", ["élodie", "marc.élodie"]],
        ["endsWith", "ODIE", ["ÉLODIE"]],
        ["endsWithIgnoreCase", "ÉLODIE", ["élodie", "ÉLODIE", "marc.élodie"]],
        ["endsWithIgnoreCase", "Élodie.MARTIN", ["Élodie.Martin"]],
        // % and _ are no wildcards.
        ["equals", "a%b", ["a%b"]],
        ["equals", "a_b", ["a_b"]],
        ["equalsIgnoreCase", "A%B", ["a%b"]],
        ["equalsIgnoreCase", "A_B", ["a_b"]],
        ["contains", "%", ["a%b"]],
        ["contains", "_", ["a_b", "bob_smith"]],
        ["contains", "a%b", ["a%b"]],
        ["contains", "a_b", ["a_b"]],
        ["containsIgnoreCase", "%B", ["a%b"]],
        ["containsIgnoreCase", "_S", ["bob_smith"]],
        ["startsWith", "a%", ["a%b"]],
        ["startsWith", "a_", ["a_b"]],
        ["startsWith", "%", []],
        ["startsWithIgnoreCase", "A_", ["a_b"]],
        ["startsWithIgnoreCase", "_", []],
        ["endsWith", "%b", ["a%b"]],
        ["endsWith", "_b", ["a_b"]],
        ["endsWith", "_", []],
        ["endsWithIgnoreCase", "%B", ["a%b"]],
        ["endsWithIgnoreCase", "_SMITH", ["bob_smith"]],
        // Case matters without IgnoreCase, for ASCII too.
        ["equals", "bob", []],
        ["equalsIgnoreCase", "BOB", ["Bob"]],
        ["startsWith", "b", ["bob_smith"]],
        ["startsWithIgnoreCase", "b", ["Bob", "bob_smith"]],
        ["endsWith", "B", []],
        ["contains", "X", []],
        ["containsIgnoreCase", "X", ["axb", "axxb"]],
        // Longer than every name.
        ["endsWith", "xxxxxxxxxxxxxxxxxxxxab", []],
      ];

      it.each(CASES)("%s %j", async (match, value, expected) => {
        const res = await list({ filters: [F.org(orgId), F.name(value, match)], sort: "userName", asc: true });
        const want = expected.map((n) => byName.get(n)!);
        expect(new Set(res.users.map((u) => u.id))).toEqual(new Set(want));
        expect(res.users.map((u) => u.username).sort(compareText)).toEqual([...expected].sort(compareText));
        expect(res.total).toBe(expected.length);
      });
    });

    describe("filters, sorting, paging and visibility", () => {
      let orgS: string;
      let orgT: string;
      /** The listed (not removed) users of org S, as stored. */
      let live: User[];
      let removedUser: User;
      const ids = new Map<string, string>();
      let prefix: string;

      beforeAll(async () => {
        orgS = await newOrg();
        orgT = await newOrg();
        // Ids run against the usernames' and the creation order; some values tie so that id must decide.
        prefix = uniq("s");
        const H = (
          key: string,
          id: string,
          created: number,
          p: { given: string; family: string; nick?: string; display?: string; email: string; password?: boolean },
        ) =>
          newHuman(orgS, key, {
            id: `${prefix}-${id}`,
            createdAt: at(created),
            human: {
              profile: {
                givenName: p.given,
                familyName: p.family,
                nickName: p.nick,
                displayName: p.display,
              },
              email: p.email,
              emailVerified: true,
              passwordHash: p.password === false ? undefined : "hash",
              passwordChangeRequired: false,
            },
          });
        const commits = [
          H("anna", "9", 5, { given: "Anna", family: "Zeta", nick: "zz", display: "Anna Z", email: "z@example.com" }),
          H("Bert", "8", 1, { given: "bert", family: "Young", nick: "yy", display: "Bert Y", email: "y@example.com" }),
          H("émile", "7", 3, { given: "Émile", family: "Young", nick: "yy", display: "Émile Y", email: "y@example.com" }),
          H("Zoe", "6", 3, { given: "Anna", family: "Alpha", nick: "aa", display: "Zoe A", email: "a@example.com", password: false }),
          H("carl", "5", 9, { given: "Carl", family: "Müller", nick: "Mm", display: "carl m", email: "M@example.com" }),
          H("dora", "4", 2, { given: "dora", family: "Muller", display: "Dora", email: "d@example.com" }),
          newMachine(orgS, "bot-b", { id: `${prefix}-3`, createdAt: at(7) }),
          newMachine(orgS, "Bot-a", { id: `${prefix}-2`, createdAt: at(7) }),
          H("gone", "1", 4, { given: "Aaron", family: "Aaron", nick: "a", display: "A", email: "a@example.com" }),
        ];
        const stored: User[] = [];
        for (const c of commits) stored.push(await commit(c));
        for (const u of stored) ids.set(u.username, u.id);
        const get = (name: string) => stored.find((u) => u.username === name)!;
        // States: anna locked, Bert inactive, émile locked+inactive (inactive), Zoe initial, carl active,
        // dora active, bot-b locked, gone removed.
        const changed = [
          await commit(change(get("anna"), "user.locked")),
          await commit(change(get("Bert"), "user.deactivated")),
          await commit(change(await commit(change(get("émile"), "user.locked")), "user.deactivated")),
          await commit(change(get("bot-b"), "user.locked")),
        ];
        removedUser = await commit(change(get("gone"), "user.removed"));
        live = stored
          .filter((u) => u.username !== "gone")
          .map((u) => changed.find((c) => c.id === u.id) ?? u);
        // Org T: users that visibility tests may or may not see.
        await commit(newHuman(orgT, "t.one", { id: `${prefix}-t1` }));
        await commit(newMachine(orgT, "t.two", { id: `${prefix}-t2` }));
      });

      const id = (name: string) => ids.get(name)!;
      const idsOf = (names: string[]) => names.map(id);
      const inS = async (...filters: UserFilter[]) => {
        const res = await list({ filters: [F.org(orgS), ...filters] });
        expect(res.total).toBe(res.users.length);
        return new Set(res.users.map((u) => u.id));
      };
      const set = (...names: string[]) => new Set(idsOf(names));

      it("lists users exactly as stored; removed users are never listed", async () => {
        const res = await list({ filters: [F.org(orgS)] });
        expect(res.total).toBe(8);
        const byId = new Map(res.users.map((u) => [u.id, u]));
        for (const u of live) expect(byId.get(u.id)).toEqual(u);
        expect(byId.has(removedUser.id)).toBe(false);
        expect(await list({ filters: [F.ids(removedUser.id)] })).toEqual({ total: 0, users: [] });
        expect((await list({ filters: [F.state("deleted")] })).total).toBe(0);
        expect((await list({ filters: [F.org(orgS), F.name("gone", "equals")] })).total).toBe(0);
        // Even the removed caller does not see itself.
        expect(await list({ filters: [], visibleOrgs: [], callerId: removedUser.id })).toEqual({ total: 0, users: [] });
      });

      it("state", async () => {
        expect(await inS(F.state("active"))).toEqual(set("carl", "dora", "Bot-a"));
        expect(await inS(F.state("locked"))).toEqual(set("anna", "bot-b"));
        expect(await inS(F.state("inactive"))).toEqual(set("Bert", "émile"));
        expect(await inS(F.state("initial"))).toEqual(set("Zoe"));
        expect(await inS(F.state("deleted"))).toEqual(set());
      });

      it("type", async () => {
        expect(await inS(F.type("machine"))).toEqual(set("bot-b", "Bot-a"));
        expect(await inS(F.type("human"))).toEqual(set("anna", "Bert", "émile", "Zoe", "carl", "dora"));
      });

      it("ids (across organizations; an empty list matches nobody)", async () => {
        expect(await inS(F.ids(id("anna"), id("Bot-a"), "no-such-id"))).toEqual(set("anna", "Bot-a"));
        expect(await inS(F.ids())).toEqual(set());
        const t1 = `${prefix}-t1`;
        const res = await list({ filters: [F.ids(id("carl"), t1, removedUser.id)] });
        expect(new Set(res.users.map((u) => u.id))).toEqual(new Set([id("carl"), t1]));
        expect(res.total).toBe(2);
      });

      it("org", async () => {
        const t = await list({ filters: [F.org(orgT)] });
        expect(t.total).toBe(2);
        expect(t.users.map((u) => u.username).sort()).toEqual(["t.one", "t.two"]);
        expect((await list({ filters: [F.org("no-such-org")] })).total).toBe(0);
        // Two org filters are ANDed: no user is in both.
        expect((await list({ filters: [F.org(orgS), F.org(orgT)] })).total).toBe(0);
      });

      it("and / or / not, nested", async () => {
        expect(await inS(F.and(F.type("human"), F.state("locked")))).toEqual(set("anna"));
        expect(await inS(F.or(F.state("initial"), F.type("machine")))).toEqual(set("Zoe", "bot-b", "Bot-a"));
        expect(await inS(F.not(F.type("human")))).toEqual(set("bot-b", "Bot-a"));
        expect(await inS(F.not(F.state("active")))).toEqual(set("anna", "Bert", "émile", "Zoe", "bot-b"));
        expect(
          await inS(F.or(F.and(F.type("human"), F.not(F.or(F.state("active"), F.state("inactive")))), F.ids(id("dora")))),
        ).toEqual(set("anna", "Zoe", "dora"));
        expect(await inS(F.not(F.and(F.type("machine"), F.not(F.state("locked")))))).toEqual(
          set("anna", "Bert", "émile", "Zoe", "carl", "dora", "bot-b"),
        );
        expect(await inS(F.and(F.name("b", "startsWithIgnoreCase"), F.not(F.name("bot", "containsIgnoreCase"))))).toEqual(
          set("Bert"),
        );
        expect(await inS(F.not(F.not(F.ids(id("carl")))))).toEqual(set("carl"));
        // Empty groups: "and" of nothing matches everyone, "or" of nothing no one.
        expect(await inS(F.and())).toEqual(set(...live.map((u) => u.username)));
        expect(await inS(F.or())).toEqual(set());
        expect(await inS(F.not(F.or()))).toEqual(set(...live.map((u) => u.username)));
      });

      for (const field of SORT_FIELDS) {
        for (const asc of [true, false]) {
          it(`sort by ${field} ${asc ? "asc" : "desc"}, ties by id`, async () => {
            // Fields only humans have are sorted among humans here; missing values are tested below.
            const humansOnly = ["firstName", "lastName", "nickName", "displayName", "email"].includes(field);
            const subjects = live.filter((u) => !humansOnly || (u.type === "human" && sortKey(u, field) !== undefined));
            const filters = [F.org(orgS), F.ids(...subjects.map((u) => u.id))];
            const res = await list({ filters, sort: field, asc });
            expect(res.users.map((u) => u.id)).toEqual(expectedOrder(subjects, field, asc));
            expect(res.total).toBe(subjects.length);
          });
        }
      }

      it("sorting by a field a user lacks: the missing value sorts as the empty string (first ascending, last descending)", async () => {
        const actual: Record<string, string[]> = {};
        const expected: Record<string, string[]> = {};
        const name = (i: string) => live.find((u) => u.id === i)!.username;
        for (const field of ["firstName", "lastName", "nickName", "displayName", "email"] as const) {
          for (const asc of [true, false]) {
            const key = `${field} ${asc ? "asc" : "desc"}`;
            const res = await list({ filters: [F.org(orgS)], sort: field, asc });
            actual[key] = res.users.map((u) => u.username);
            expected[key] = expectedOrder(live, field, asc).map(name);
          }
        }
        expect(actual).toEqual(expected);
      });

      it("offset and limit page through the sorted list; total counts every match", async () => {
        const all = expectedOrder(live, "userName", true);
        const pages: string[] = [];
        for (let offset = 0; offset < all.length; offset += 3) {
          const page = await list({ filters: [F.org(orgS)], sort: "userName", asc: true, offset, limit: 3 });
          expect(page.total).toBe(8);
          expect(page.users.length).toBe(Math.min(3, all.length - offset));
          pages.push(...page.users.map((u) => u.id));
        }
        expect(pages).toEqual(all);
        const slice = await list({ filters: [F.org(orgS)], sort: "creationDate", asc: false, offset: 2, limit: 4 });
        expect(slice.users.map((u) => u.id)).toEqual(expectedOrder(live, "creationDate", false).slice(2, 6));
        expect(slice.total).toBe(8);
        const beyond = await list({ filters: [F.org(orgS)], offset: 50, limit: 10 });
        expect(beyond).toEqual({ total: 8, users: [] });
        const filtered = await list({ filters: [F.org(orgS), F.type("human")], sort: "userName", asc: false, offset: 1, limit: 2 });
        expect(filtered.total).toBe(6);
        expect(filtered.users.map((u) => u.id)).toEqual(
          expectedOrder(live.filter((u) => u.type === "human"), "userName", false).slice(1, 3),
        );
      });

      it('visibleOrgs: a list limits to those orgs, "all" sees all, and the caller always sees itself', async () => {
        const both = [F.or(F.org(orgS), F.org(orgT))];
        const t2 = `${prefix}-t2`;
        const t1 = `${prefix}-t1`;
        expect((await list({ filters: both, visibleOrgs: "all", callerId: "nobody" })).total).toBe(10);
        expect((await list({ filters: both, visibleOrgs: [orgS], callerId: "nobody" })).total).toBe(8);
        // A caller in org T that may read org S sees org S and itself, not its org's other users.
        const asT2 = await list({ filters: both, visibleOrgs: [orgS], callerId: t2 });
        expect(asT2.total).toBe(9);
        expect(asT2.users.map((u) => u.id)).toContain(t2);
        expect(asT2.users.map((u) => u.id)).not.toContain(t1);
        // No readable org: only itself, and only when the filters let it through.
        expect(await listIds({ filters: [], visibleOrgs: [], callerId: t2 })).toEqual([t2]);
        expect(await listIds({ filters: [F.type("human")], visibleOrgs: [], callerId: t2 })).toEqual([]);
        expect(await listIds({ filters: [F.org(orgS)], visibleOrgs: ["no-such-org"], callerId: t2 })).toEqual([]);
        // Several orgs.
        expect((await list({ filters: both, visibleOrgs: [orgT, orgS, "x"], callerId: "nobody" })).total).toBe(10);
      });

      it("through UserApp: the admin (IAM_OWNER) sees everything; an org viewer sees its org and itself", async () => {
        const all = await app.listUsers(
          { filters: [F.or(F.org(orgS), F.org(orgT))], sort: "userName", asc: true, offset: 0, limit: 100 },
          admin,
        );
        expect(all.total).toBe(10);
        const viewer = await app.addMachineUser(orgT, uniq("viewer"), "ORG_OWNER_VIEWER");
        const principal = await app.authenticate(`Bearer ${viewer.token}`);
        expect(principal).toEqual({ userId: viewer.userId, orgId: orgT, grants: [{ role: "ORG_OWNER_VIEWER", orgId: orgT }] });
        const seen = await app.listUsers({ filters: [], sort: "creationDate", asc: true, offset: 0, limit: 1000 }, principal);
        expect(seen.users.every((u) => u.orgId === orgT)).toBe(true);
        expect(seen.total).toBe(3);
        expect(seen.users.map((u) => u.id)).toContain(viewer.userId);
        // A reader in org S only (ORG_OWNER_VIEWER), but the caller itself lives in org T.
        const reader: Principal = { userId: viewer.userId, orgId: orgT, grants: [{ role: "ORG_OWNER_VIEWER", orgId: orgS }] };
        const readS = await app.listUsers({ filters: [], sort: "userName", asc: true, offset: 0, limit: 1000 }, reader);
        expect(readS.total).toBe(9);
        expect(new Set(readS.users.map((u) => u.id))).toEqual(new Set([...live.map((u) => u.id), viewer.userId]));
        expect(await app.getUser(id("carl"), reader)).toEqual(live.find((u) => u.username === "carl"));
        await expect(app.getUser(removedUser.id, admin)).rejects.toMatchObject({ kind: "NotFound", id: "QUERY-Dfbg2" });
      });
    });
  });

  describe("ping and close", () => {
    it("ping resolves", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("close releases the store; afterwards it no longer answers (the last test of the block)", async () => {
      await store.addOrganization({ id: "before-close", name: "o", createdAt: at(1) });
      // dispose closes the store (and drops a PostgreSQL database).
      disposed = true;
      await expect(dispose()).resolves.toBeUndefined();
      await expect(store.ping()).rejects.toThrow();
      await expect(store.getOrganization("before-close")).rejects.toThrow();
    });
  });
});
