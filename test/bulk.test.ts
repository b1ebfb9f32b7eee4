/**
 * zus.user.v1.UserRecordService.BulkLockUsers and BulkUnlockUsers (EXTENSIONS.md §1, bulk) over
 * each protocol and REST against a real server: 1,000 ids of every kind (unknown, of an
 * organization the caller does not administer, already locked, lockable) each get what their
 * single call would answer, each changed user gets exactly one event, the dry run before changes
 * nothing; a ListUsers query as the selection; and InvalidArgument naming the field for bad input,
 * with nothing changed.
 */
import { create, fromJson, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserFieldName, type SearchQuerySchema } from "../gen/zitadel/user/v2/query_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import type { ListUsersRequestSchema } from "../gen/zitadel/user/v2/user_service_pb.js";
import {
  BulkChangeUsersResponseSchema,
  BulkLockUsersRequestSchema,
  BulkUnlockUsersRequestSchema,
  UserRecordService,
  type BulkChangeUsersResponse,
} from "../gen/zus/user/v1/user_record_service_pb.js";
import { PROTOCOLS, transport, userClient, type Protocol, type UserClient } from "./support/clients.js";
import { query } from "./support/db.js";
import { addHuman, addMachine, addOrg, expectCode } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let orgId: string;
/** An administrator of `orgId` only. */
let owner: { userId: string; token: string };
beforeAll(async () => {
  server = await startServer();
  orgId = await addOrg(server);
  owner = await addMachine(server, orgId, "ORG_OWNER");
});
afterAll(() => server?.stop());

type Way = Protocol | "rest";
const WAYS: Way[] = [...PROTOCOLS, "rest"];
type LockRequest = MessageInitShape<typeof BulkLockUsersRequestSchema>;
type UnlockRequest = MessageInitShape<typeof BulkUnlockUsersRequestSchema>;
type ListUsersRequest = MessageInitShape<typeof ListUsersRequestSchema>;
const inIds = (userIds: string[]): MessageInitShape<typeof SearchQuerySchema> => ({ query: { case: "inUserIdsQuery", value: { userIds } } });
const HOUR_MS = 3_600_000;

/** The two calls, the same over every way; over REST an error answer becomes the ConnectError it stands for. */
function bulkClient(way: Way, token = owner.token) {
  if (way !== "rest") {
    const client = createClient(UserRecordService, transport(way, server.baseUrl, token));
    return { lock: (req: LockRequest) => client.bulkLockUsers(req), unlock: (req: UnlockRequest) => client.bulkUnlockUsers(req) };
  }
  const post = async (path: string, body: unknown): Promise<BulkChangeUsersResponse> => {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { code: Code; message: string };
    if (res.status !== 200) throw new ConnectError(json.message, json.code);
    return fromJson(BulkChangeUsersResponseSchema, json as never);
  };
  return {
    lock: (req: LockRequest) => post("/zus/v1/bulk/lock", toJson(BulkLockUsersRequestSchema, create(BulkLockUsersRequestSchema, req))),
    unlock: (req: UnlockRequest) => post("/zus/v1/bulk/unlock", toJson(BulkUnlockUsersRequestSchema, create(BulkUnlockUsersRequestSchema, req))),
  };
}

/** `count` users without a password (INITIAL, which locks like ACTIVE: no password hashing), 25 at a time. */
async function addHumans(client: UserClient, count: number, options: { orgId?: string } = {}): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: 25 }, async () => {
      for (let i = next++; i < count; i = next++) ids[i] = await addHuman(client, { ...options, password: false });
    }),
  );
  return ids;
}

interface StoredEvent {
  sequence: number;
  type: string;
  actor: string;
  payload: Record<string, unknown> | null;
}

/** Every stored event of every user, by user: what a dry run must leave as it is. */
async function eventsByUser(): Promise<Map<string, StoredEvent[]>> {
  const rows = await query<StoredEvent & { userId: string; payload: unknown }>(
    server,
    'select aggregate_id as "userId", sequence, type, actor, payload from events order by aggregate_id, sequence',
  );
  const byUser = new Map<string, StoredEvent[]>();
  for (const { userId, sequence, type, actor, payload } of rows) {
    // JSON text on SQLite, parsed jsonb on PostgreSQL.
    const parsed = typeof payload === "string" ? (JSON.parse(payload) as Record<string, unknown>) : (payload as Record<string, unknown> | null);
    byUser.set(userId, [...(byUser.get(userId) ?? []), { sequence: Number(sequence), type, actor, payload: parsed }]);
  }
  return byUser;
}

const latestSequence = (events: Map<string, StoredEvent[]>, userId: string) => events.get(userId)!.at(-1)!.sequence;

/** One result as [user, "details", sequence, organization, has a change date] or [user, "error", code, id, message]. */
function flat(response: BulkChangeUsersResponse) {
  return response.results.map(({ userId, outcome }) =>
    outcome.case === "details"
      ? [userId, "details", Number(outcome.value.sequence), outcome.value.resourceOwner, outcome.value.changeDate !== undefined]
      : [userId, outcome.case, outcome.value?.code, outcome.value?.id, outcome.value?.message],
  );
}

const notFound = (id: string) => [Code.NotFound, id, "User could not be found"];

/** Spreads the groups over the order, so that no kind of id comes in one block. */
const interleave = (ids: string[]) => ids.map((id, i) => ({ id, key: (i * 7919) % ids.length })).sort((a, b) => a.key - b.key).map((x) => x.id);

describe.each(WAYS)("over %s", (way) => {
  const users = (token = owner.token) => userClient(way === "rest" ? "connect-json" : way, server.baseUrl, token);

  it("locks, then unlocks, 1,000 ids of every kind as each single call would; each dry run first changes nothing", { timeout: 180_000 }, async () => {
    const lockable = await addHumans(users(), 880, { orgId });
    const alreadyLocked = await addHumans(users(), 40, { orgId });
    await Promise.all(alreadyLocked.map((userId) => users().lockUser({ userId })));
    // The owner administers its organization only: the users of the server's first one do not exist for it.
    const foreign = await addHumans(users(server.adminToken), 40);
    const unknown = Array.from({ length: 40 }, (_, i) => `9${String(i).padStart(17, "0")}`);
    const ids = interleave([...lockable, ...alreadyLocked, ...foreign, ...unknown]);
    expect(new Set(ids).size).toBe(1000);
    const bulk = bulkClient(way);

    // Lock: the dry run, then the real one, with the same answers but for the change date.
    const before = await eventsByUser();
    const end = timestampFromDate(new Date(Date.now() + HOUR_MS));
    const lock = { userIds: ids, reason: "breach 7", end: { case: "expiresAt", value: end } } as const;
    const expectedLock = (dryRun: boolean) =>
      ids.map((id) => {
        if (lockable.includes(id)) return [id, "details", latestSequence(before, id) + 1, orgId, !dryRun];
        if (alreadyLocked.includes(id)) return [id, "error", Code.FailedPrecondition, "COMMAND-lgws8wtsqf", "User is not active or initial"];
        return [id, "error", ...notFound("COMMAND-450yxuqrh1")];
      });
    expect(flat(await bulk.lock({ ...lock, dryRun: true }))).toEqual(expectedLock(true));
    expect(await eventsByUser(), "a dry run records nothing").toEqual(before);
    expect(flat(await bulk.lock(lock))).toEqual(expectedLock(false));
    const locked = await eventsByUser();
    for (const id of ids) {
      const added = locked.get(id)?.slice(before.get(id)?.length ?? 0) ?? [];
      if (!lockable.includes(id)) expect(added, `${id} unchanged`).toEqual([]);
      else expect(added).toEqual([{ sequence: latestSequence(before, id) + 1, type: "user.locked", actor: owner.userId, payload: { cause: "admin", reason: "breach 7", expiresAt: timestampDate(end).toISOString() } }]);
    }

    // Unlock: the locked users but a few unlocked one by one meanwhile, whose bulk unlock is refused as UnlockUser refuses it.
    const reopened = lockable.slice(0, 20);
    await Promise.all(reopened.map((userId) => users().unlockUser({ userId })));
    const beforeUnlock = await eventsByUser();
    const unlockable = [...lockable.slice(20), ...alreadyLocked];
    const expectedUnlock = (dryRun: boolean) =>
      ids.map((id) => {
        if (unlockable.includes(id)) return [id, "details", latestSequence(beforeUnlock, id) + 1, orgId, !dryRun];
        if (reopened.includes(id)) return [id, "error", Code.FailedPrecondition, "COMMAND-olb9vb0oca", "User is not locked"];
        return [id, "error", ...notFound("COMMAND-x377t913pw")];
      });
    expect(flat(await bulk.unlock({ userIds: ids, dryRun: true }))).toEqual(expectedUnlock(true));
    expect(await eventsByUser(), "a dry run records nothing").toEqual(beforeUnlock);
    expect(flat(await bulk.unlock({ userIds: ids }))).toEqual(expectedUnlock(false));
    const unlocked = await eventsByUser();
    for (const id of ids) {
      const added = unlocked.get(id)?.slice(beforeUnlock.get(id)?.length ?? 0) ?? [];
      if (!unlockable.includes(id)) expect(added, `${id} unchanged`).toEqual([]);
      else expect(added).toEqual([{ sequence: latestSequence(beforeUnlock, id) + 1, type: "user.unlocked", actor: owner.userId, payload: null }]);
    }
  });

  it("takes the users a ListUsers query answers the caller, in its order", async () => {
    const mine = await addHumans(users(), 4, { orgId });
    await users().lockUser({ userId: mine[0]! });
    const [foreign] = await addHumans(users(server.adminToken), 1);
    const byName: ListUsersRequest = { queries: [inIds([...mine, foreign!])], sortingColumn: UserFieldName.USER_NAME, query: { asc: true } };
    const usernames = new Map((await users().listUsers(byName)).result.map((u) => [u.userId, u.username]));
    const ordered = [...mine].sort((a, b) => usernames.get(a)!.localeCompare(usernames.get(b)!, "en"));
    const before = await eventsByUser();

    const locked = await bulkClient(way).lock({ query: byName, reason: "by query" });
    // The foreign user is not the owner's to read, so not in ListUsers' answer either.
    expect(flat(locked)).toEqual(
      ordered.map((id) =>
        id === mine[0]
          ? [id, "error", Code.FailedPrecondition, "COMMAND-lgws8wtsqf", "User is not active or initial"]
          : [id, "details", latestSequence(before, id) + 1, orgId, true],
      ),
    );
    // Now all four are locked: the locked ones of the query are all of them, the foreign one aside.
    const lockedOnly: ListUsersRequest = { queries: [inIds([...mine, foreign!]), { query: { case: "stateQuery", value: { state: UserState.LOCKED } } }] };
    const unlocked = await bulkClient(way).unlock({ query: lockedOnly });
    expect(unlocked.results.map((r) => [r.userId, r.outcome.case]).sort()).toEqual(mine.map((id) => [id, "details"]).sort());
    expect((await eventsByUser()).get(foreign!)).toEqual(before.get(foreign!));
  });

  it("refuses bad input with InvalidArgument naming the field, and changes nothing", async () => {
    const ids = await addHumans(users(), 2, { orgId });
    const many = [...ids, ...Array.from({ length: 999 }, (_, i) => `8${String(i).padStart(17, "0")}`)];
    const byIds: ListUsersRequest = { queries: [inIds(ids)] };
    const before = await eventsByUser();
    const bulk = bulkClient(way);
    const selections: [{ userIds?: string[]; query?: ListUsersRequest }, string][] = [
      [{ userIds: many }, "UserIds: value must contain no more than 1000 item(s)"],
      [{}, "UserIds: give either user_ids or a query"],
      [{ userIds: ids, query: byIds }, "Query: give either user_ids or a query, not both"],
      [{ userIds: [...ids, ids[0]!] }, "UserIds[2]: repeated value must contain unique items"],
      [{ userIds: [ids[0]!, ""] }, "UserIds[1]: value length must be between 1 and 200 runes, inclusive"],
    ];
    const cases: [() => Promise<unknown>, string][] = [
      ...selections.flatMap(([selection, message]): [() => Promise<unknown>, string][] => [
        [() => bulk.lock(selection), `invalid BulkLockUsersRequest.${message}`],
        [() => bulk.unlock(selection), `invalid BulkUnlockUsersRequest.${message}`],
      ]),
      [() => bulk.lock({ userIds: ids, reason: "x".repeat(501) }), "invalid BulkLockUsersRequest.Reason: value length must be between 0 and 500 runes, inclusive"],
      [
        () => bulk.lock({ userIds: ids, end: { case: "expiresAt", value: timestampFromDate(new Date(Date.now() - 1000)) } }),
        "invalid BulkLockUsersRequest.ExpiresAt: the lock must end in the future",
      ],
      [() => bulk.lock({ userIds: ids, end: { case: "duration", value: durationFromMs(366 * 24 * HOUR_MS) } }), "invalid BulkLockUsersRequest.Duration: the lock must end within a year"],
      [() => bulk.lock({ query: { ...byIds, query: { limit: 1001 } } }), "invalid ListQuery.Limit: value must be less than or equal to 1000"],
    ];
    for (const [call, message] of cases) {
      const err = await expectCode(call(), Code.InvalidArgument);
      expect(err.rawMessage).toBe(message);
    }
    expect(await eventsByUser()).toEqual(before);
  });
});

describe("permissions, per user", () => {
  it("a viewer of the organization is denied each user as LockUser denies it, but may lock itself", async () => {
    const viewer = await addMachine(server, orgId, "ORG_OWNER_VIEWER");
    const [userId] = await addHumans(userClient("grpc", server.baseUrl, owner.token), 1, { orgId });
    const answer = await bulkClient("grpc", viewer.token).lock({ userIds: [userId!, viewer.userId], dryRun: true });
    expect(flat(answer)).toEqual([
      [userId, "error", Code.PermissionDenied, "AUTH-AWfge", "No matching permissions found"],
      [viewer.userId, "details", 2, orgId, false],
    ]);
  });
});

describe("over REST, as JSON", () => {
  it("POST /zus/v1/bulk/lock and /zus/v1/bulk/unlock answer each user's details or error in the JSON mapping", async () => {
    const [userId] = await addHumans(userClient("connect-json", server.baseUrl, owner.token), 1, { orgId });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.baseUrl}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${owner.token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const locked = await post("/zus/v1/bulk/lock", { userIds: [userId, "unknown"], reason: "from REST", duration: "3600s" });
    expect(locked.status).toBe(200);
    expect(locked.body).toMatchObject({
      results: [
        { userId, details: { sequence: "2", resourceOwner: orgId } },
        { userId: "unknown", error: { code: 5, id: "COMMAND-450yxuqrh1", message: "User could not be found" } },
      ],
    });
    const dry = await post("/zus/v1/bulk/unlock", { userIds: [userId], dryRun: true });
    expect(dry.body).toEqual({ results: [{ userId, details: { sequence: "3", resourceOwner: orgId } }] });
    const bad = await post("/zus/v1/bulk/unlock", {});
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 3, message: "invalid BulkUnlockUsersRequest.UserIds: give either user_ids or a query" });
  });
});
