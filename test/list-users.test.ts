/**
 * ListUsers: every SearchQuery of SPEC §1, paging, sorting, totalResult and visibility.
 * Each test filters by a fresh organization so that users made by other tests do not interfere.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TextQueryMethod } from "../gen/zitadel/object/v2/object_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Type, UserFieldName, type SearchQuerySchema } from "../gen/zitadel/user/v2/query_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import type { ListUsersRequestSchema, ListUsersResponse } from "../gen/zitadel/user/v2/user_service_pb.js";
import { userClient, type UserClient } from "./support/clients.js";
import { addMachine, addOrg, expectCode } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

type Query = MessageInitShape<typeof SearchQuerySchema>;
type ListRequest = Omit<MessageInitShape<typeof ListUsersRequestSchema>, "$typeName">;

let server: TestServer;
let admin: UserClient;
let orgA: string;
let orgB: string;
let orgC: string;
/** userId by username, for the users of org A and B. */
const ids = new Map<string, string>();
let viewerA: { userId: string; token: string; username: string };
let viewerB: { userId: string; token: string; username: string };
const BULK = 105;
const bulkName = (i: number) => `u-${String(i).padStart(3, "0")}`;

async function human(
  orgId: string,
  username: string,
  options: { password?: boolean; givenName?: string; familyName?: string } = {},
): Promise<string> {
  const res = await admin.addHumanUser({
    username,
    organization: { org: { case: "orgId", value: orgId } },
    profile: { givenName: options.givenName ?? "Gigi", familyName: options.familyName ?? "Giraffe" },
    email: { email: `${username.replace(/[^a-zA-Z0-9.-]/g, "x")}-${orgId}@example.com`, verification: { case: "isVerified", value: true } },
    passwordType: options.password ? { case: "password", value: { password: "Secr3t-Passw0rd!" } } : { case: undefined },
  });
  return res.userId;
}

const org = (organizationId: string): Query => ({ query: { case: "organizationIdQuery", value: { organizationId } } });
const userName = (name: string, method: TextQueryMethod): Query => ({
  query: { case: "userNameQuery", value: { userName: name, method } },
});
const state = (s: UserState): Query => ({ query: { case: "stateQuery", value: { state: s } } });
const type = (t: Type): Query => ({ query: { case: "typeQuery", value: { type: t } } });
const inIds = (userIds: string[]): Query => ({ query: { case: "inUserIdsQuery", value: { userIds } } });
const or = (...queries: Query[]): Query => ({ query: { case: "orQuery", value: { queries } } });
const and = (...queries: Query[]): Query => ({ query: { case: "andQuery", value: { queries } } });
const not = (query: Query): Query => ({ query: { case: "notQuery", value: { query } } });

const names = (res: ListUsersResponse) => res.result.map((u) => u.username);
const sorted = (values: string[]) => [...values].sort();

/** Lists org A's users matching the queries; returns the usernames (as a sorted set) and checks totalResult. */
async function inOrgA(...queries: Query[]): Promise<string[]> {
  const res = await admin.listUsers({ queries: [org(orgA), ...queries] });
  expect(res.details!.totalResult).toBe(BigInt(res.result.length));
  for (const u of res.result) expect(u.details!.resourceOwner).toBe(orgA);
  return sorted(names(res));
}

// Org A: the users the filters are tried on.
const ORG_A_HUMANS = ["alice.Smith", "bob.jones", "ALICE.cooper", "carol", "dave-alice", "frank_x", "ÉLODIE"];
let ALL_A: string[];

beforeAll(async () => {
  server = await startServer();
  admin = userClient("connect-json", server.baseUrl, server.adminToken);
  [orgA, orgB, orgC] = await Promise.all([addOrg(server), addOrg(server), addOrg(server)]);

  ids.set("alice.Smith", await human(orgA, "alice.Smith", { password: true }));
  ids.set("bob.jones", await human(orgA, "bob.jones")); // INITIAL
  ids.set("ALICE.cooper", await human(orgA, "ALICE.cooper", { password: true }));
  await admin.lockUser({ userId: ids.get("ALICE.cooper")! }); // LOCKED
  ids.set("carol", await human(orgA, "carol", { password: true }));
  await admin.deactivateUser({ userId: ids.get("carol")! }); // INACTIVE
  ids.set("dave-alice", await human(orgA, "dave-alice", { password: true }));
  ids.set("frank_x", await human(orgA, "frank_x", { password: true }));
  ids.set("ÉLODIE", await human(orgA, "ÉLODIE", { password: true }));
  ids.set("gone-alice", await human(orgA, "gone-alice", { password: true }));
  await admin.deleteUser({ userId: ids.get("gone-alice")! }); // removed: never listed

  // Org B: must never leak to org A's viewer.
  ids.set("alice.b", await human(orgB, "alice.b", { password: true }));
  ids.set("bob.b", await human(orgB, "bob.b"));

  const [a, b] = await Promise.all([addMachine(server, orgA, "ORG_OWNER_VIEWER"), addMachine(server, orgB, "ORG_OWNER_VIEWER")]);
  const nameOf = async (userId: string) => (await admin.getUserByID({ userId })).user!.username;
  viewerA = { ...a, username: await nameOf(a.userId) };
  viewerB = { ...b, username: await nameOf(b.userId) };
  ALL_A = sorted([...ORG_A_HUMANS, viewerA.username]);

  // Org C: many users for paging and sorting; first names run the other way round from usernames.
  for (let i = 0; i < BULK; i += 15) {
    await Promise.all(
      Array.from({ length: Math.min(15, BULK - i) }, (_, k) =>
        human(orgC, bulkName(i + k), { givenName: `g-${String(BULK - 1 - (i + k)).padStart(3, "0")}` }),
      ),
    );
  }
}, 120_000);
afterAll(() => server?.stop());

describe("organizationIdQuery", () => {
  it("returns exactly the organization's users, without removed ones", async () => {
    expect(await inOrgA()).toEqual(ALL_A);
    const b = await admin.listUsers({ queries: [org(orgB)] });
    expect(sorted(names(b))).toEqual(sorted(["alice.b", "bob.b", viewerB.username]));
    expect(b.details!.totalResult).toBe(3n);
  });

  it("returns nothing for an unknown organization", async () => {
    const res = await admin.listUsers({ queries: [org("123456789012345678")] });
    expect(res.result).toEqual([]);
    expect(res.details!.totalResult).toBe(0n);
  });

  it("reports each user's state, type and details", async () => {
    const res = await admin.listUsers({ queries: [org(orgA)] });
    const byName = new Map(res.result.map((u) => [u.username, u]));
    expect(UserState[byName.get("alice.Smith")!.state]).toBe("ACTIVE");
    expect(UserState[byName.get("bob.jones")!.state]).toBe("INITIAL");
    expect(UserState[byName.get("ALICE.cooper")!.state]).toBe("LOCKED");
    expect(UserState[byName.get("carol")!.state]).toBe("INACTIVE");
    expect(byName.get("ALICE.cooper")!.details!.sequence).toBe(2n);
    expect(byName.get("alice.Smith")!.details!.sequence).toBe(1n);
    expect(byName.get("alice.Smith")!.userId).toBe(ids.get("alice.Smith"));
    expect(byName.get("alice.Smith")!.type.case).toBe("human");
    expect(byName.get(viewerA.username)!.type.case).toBe("machine");
  });
});

describe("userNameQuery", () => {
  const M = TextQueryMethod;
  it.each(([
    ["alice.Smith", M.EQUALS, ["alice.Smith"]],
    ["alice.smith", M.EQUALS, []],
    ["alice", M.EQUALS, []],
    ["ALICE.SMITH", M.EQUALS_IGNORE_CASE, ["alice.Smith"]],
    ["alice.cooper", M.EQUALS_IGNORE_CASE, ["ALICE.cooper"]],
    ["alice", M.STARTS_WITH, ["alice.Smith"]],
    ["ALICE", M.STARTS_WITH, ["ALICE.cooper"]],
    ["Alice", M.STARTS_WITH_IGNORE_CASE, ["ALICE.cooper", "alice.Smith"]],
    ["alice", M.CONTAINS, ["alice.Smith", "dave-alice"]],
    ["aLiCe", M.CONTAINS_IGNORE_CASE, ["ALICE.cooper", "alice.Smith", "dave-alice"]],
    ["alice", M.ENDS_WITH, ["dave-alice"]],
    ["smith", M.ENDS_WITH, []],
    ["SMITH", M.ENDS_WITH_IGNORE_CASE, ["alice.Smith"]],
    ["COOPER", M.ENDS_WITH_IGNORE_CASE, ["ALICE.cooper"]],
    // Characters that are wildcards in SQL LIKE match only themselves.
    ["_", M.CONTAINS, ["frank_x"]],
    ["%", M.CONTAINS, []],
    ["%", M.CONTAINS_IGNORE_CASE, []],
    ["a_", M.STARTS_WITH_IGNORE_CASE, []],
  ] as [string, TextQueryMethod, string[]][]).map(([value, method, expected]) => [value, M[method], method, expected] as const))(
    "%s with %s",
    async (value, _name, method, expected) => {
      expect(await inOrgA(userName(value, method))).toEqual(sorted(expected));
    },
  );

  it("ignores case beyond ASCII as ZITADEL (PostgreSQL lower()) does", async () => {
    expect(await inOrgA(userName("élodie", TextQueryMethod.EQUALS_IGNORE_CASE))).toEqual(["ÉLODIE"]);
    expect(await inOrgA(userName("élo", TextQueryMethod.STARTS_WITH_IGNORE_CASE))).toEqual(["ÉLODIE"]);
    expect(await inOrgA(userName("ÉLODIE", TextQueryMethod.EQUALS))).toEqual(["ÉLODIE"]);
  });

  it("refuses an empty user name", async () => {
    await expectCode(admin.listUsers({ queries: [org(orgA), userName("", TextQueryMethod.EQUALS)] }), Code.InvalidArgument);
  });
});

describe("stateQuery", () => {
  it.each(([
    [UserState.ACTIVE, ["alice.Smith", "dave-alice", "frank_x", "ÉLODIE", "<viewer>"]],
    [UserState.INITIAL, ["bob.jones"]],
    [UserState.LOCKED, ["ALICE.cooper"]],
    [UserState.INACTIVE, ["carol"]],
    [UserState.DELETED, []],
  ] as [UserState, string[]][]).map(([s, expected]) => [UserState[s], s, expected] as const))("state %s", async (_name, s, expected) => {
    const want = expected.map((n) => (n === "<viewer>" ? viewerA.username : n));
    expect(await inOrgA(state(s))).toEqual(sorted(want));
  });
});

describe("typeQuery", () => {
  it("human", async () => {
    expect(await inOrgA(type(Type.HUMAN))).toEqual(sorted(ORG_A_HUMANS));
  });
  it("machine", async () => {
    expect(await inOrgA(type(Type.MACHINE))).toEqual([viewerA.username]);
  });
});

describe("inUserIdsQuery", () => {
  it("returns the listed users that exist and are visible", async () => {
    const wanted = [ids.get("alice.Smith")!, ids.get("carol")!, ids.get("alice.b")!, ids.get("gone-alice")!, "123456789012345678"];
    expect(await inOrgA(inIds(wanted))).toEqual(sorted(["alice.Smith", "carol"]));
    const everywhere = await admin.listUsers({ queries: [inIds(wanted)] });
    expect(sorted(everywhere.result.map((u) => u.userId))).toEqual(
      sorted([ids.get("alice.Smith")!, ids.get("carol")!, ids.get("alice.b")!]),
    );
    expect(everywhere.details!.totalResult).toBe(3n);
  });
});

describe("orQuery, andQuery, notQuery", () => {
  it("or: any of the queries", async () => {
    expect(await inOrgA(or(state(UserState.LOCKED), state(UserState.INACTIVE)))).toEqual(sorted(["ALICE.cooper", "carol"]));
    expect(await inOrgA(or(userName("bob", TextQueryMethod.STARTS_WITH), type(Type.MACHINE)))).toEqual(
      sorted(["bob.jones", viewerA.username]),
    );
  });

  it("and: all of the queries", async () => {
    expect(
      await inOrgA(and(userName("alice", TextQueryMethod.CONTAINS_IGNORE_CASE), state(UserState.ACTIVE), type(Type.HUMAN))),
    ).toEqual(sorted(["alice.Smith", "dave-alice"]));
    expect(await inOrgA(and(state(UserState.LOCKED), state(UserState.ACTIVE)))).toEqual([]);
  });

  it("not: the complement", async () => {
    expect(await inOrgA(not(type(Type.HUMAN)))).toEqual([viewerA.username]);
    expect(await inOrgA(not(state(UserState.ACTIVE)))).toEqual(sorted(["bob.jones", "ALICE.cooper", "carol"]));
    // not(org A) inside org A: nothing; org B users are not dragged in by the negation.
    expect(await inOrgA(not(org(orgA)))).toEqual([]);
  });

  it("nested: or(and(...), not(or(...)))", async () => {
    const q = or(
      and(userName("alice", TextQueryMethod.STARTS_WITH_IGNORE_CASE), state(UserState.LOCKED)),
      not(or(type(Type.MACHINE), userName("a", TextQueryMethod.CONTAINS_IGNORE_CASE), userName("É", TextQueryMethod.CONTAINS))),
    );
    // The not(...) branch leaves only humans without "a"/"A" and without "É": bob.jones.
    expect(await inOrgA(q)).toEqual(sorted(["ALICE.cooper", "bob.jones"]));
  });

  it("top-level queries are combined with AND", async () => {
    expect(await inOrgA(type(Type.HUMAN), state(UserState.ACTIVE), userName("a", TextQueryMethod.CONTAINS))).toEqual(
      sorted(["alice.Smith", "dave-alice", "frank_x"]),
    );
  });
});

describe("paging and sorting", () => {
  const inC = (request: ListRequest = {}) => admin.listUsers({ ...request, queries: [org(orgC), ...(request.queries ?? [])] });
  const ALL_C = Array.from({ length: BULK }, (_, i) => bulkName(i));

  it("defaults to 100 results while totalResult counts every match", async () => {
    const res = await inC();
    expect(res.result).toHaveLength(100);
    expect(res.details!.totalResult).toBe(BigInt(BULK));
  });

  it("limit 1000 is allowed, limit 1001 is InvalidArgument", async () => {
    const res = await inC({ query: { limit: 1000 } });
    expect(res.result).toHaveLength(BULK);
    expect(res.details!.totalResult).toBe(BigInt(BULK));
    await expectCode(inC({ query: { limit: 1001 } }), Code.InvalidArgument);
  });

  it("USER_NAME ascending, with offset and limit", async () => {
    const res = await inC({ query: { offset: 10n, limit: 5, asc: true }, sortingColumn: UserFieldName.USER_NAME });
    expect(names(res)).toEqual(ALL_C.slice(10, 15));
    expect(res.details!.totalResult).toBe(BigInt(BULK));
    expect(res.sortingColumn).toBe(UserFieldName.USER_NAME);
  });

  it("USER_NAME descending when asc is false", async () => {
    const res = await inC({ query: { limit: 3 }, sortingColumn: UserFieldName.USER_NAME });
    expect(names(res)).toEqual([bulkName(104), bulkName(103), bulkName(102)]);
    const full = await inC({ query: { limit: 1000, asc: false }, sortingColumn: UserFieldName.USER_NAME });
    expect(names(full)).toEqual([...ALL_C].reverse());
  });

  it("FIRST_NAME sorts by the given name, not the username", async () => {
    const res = await inC({ query: { limit: 4, asc: true }, sortingColumn: UserFieldName.FIRST_NAME });
    expect(names(res)).toEqual([bulkName(104), bulkName(103), bulkName(102), bulkName(101)]);
    expect(res.result.map((u) => (u.type.case === "human" ? u.type.value.profile!.givenName : undefined))).toEqual([
      "g-000",
      "g-001",
      "g-002",
      "g-003",
    ]);
    expect(res.sortingColumn).toBe(UserFieldName.FIRST_NAME);
  });

  it("pages partition the result: every user exactly once", async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < BULK; offset += 20) {
      const page = await inC({ query: { offset: BigInt(offset), limit: 20, asc: true }, sortingColumn: UserFieldName.USER_NAME });
      expect(page.details!.totalResult).toBe(BigInt(BULK));
      seen.push(...names(page));
    }
    expect(seen).toEqual(ALL_C);
  });

  it("an offset past the end returns no users but the full total", async () => {
    const res = await inC({ query: { offset: 1000n, limit: 10 } });
    expect(res.result).toEqual([]);
    expect(res.details!.totalResult).toBe(BigInt(BULK));
  });

  it("totalResult counts filtered matches beyond the page", async () => {
    const res = await inC({
      query: { limit: 2, asc: true },
      sortingColumn: UserFieldName.USER_NAME,
      queries: [userName("u-1", TextQueryMethod.STARTS_WITH)],
    });
    expect(names(res)).toEqual(["u-100", "u-101"]);
    expect(res.details!.totalResult).toBe(5n);
  });
});

describe("visibility", () => {
  it("an ORG_OWNER_VIEWER of org A lists only org A's users (and itself)", async () => {
    for (const protocol of ["connect-json", "grpc"] as const) {
      const viewer = userClient(protocol, server.baseUrl, viewerA.token);
      const res = await viewer.listUsers({ query: { limit: 1000 } });
      expect(sorted(names(res))).toEqual(ALL_A);
      expect(res.details!.totalResult).toBe(BigInt(ALL_A.length));
      expect(res.result.every((u) => u.details!.resourceOwner === orgA)).toBe(true);
      expect(res.result.map((u) => u.userId)).toContain(viewerA.userId);
    }
  });

  it("org B's users stay hidden whatever the viewer of org A asks for", async () => {
    const viewer = userClient("connect-json", server.baseUrl, viewerA.token);
    for (const queries of [
      [org(orgB)],
      [org(orgC)],
      [inIds([ids.get("alice.b")!, ids.get("bob.b")!, viewerB.userId])],
      [not(org(orgA))],
      [userName("alice.b", TextQueryMethod.EQUALS)],
      [or(org(orgB), not(org(orgB)))],
    ] as Query[][]) {
      const res = await viewer.listUsers({ queries });
      for (const u of res.result) expect(u.details!.resourceOwner).toBe(orgA);
      expect(res.details!.totalResult).toBe(BigInt(res.result.length));
    }
    const all = await viewer.listUsers({ queries: [or(org(orgB), not(org(orgB)))] });
    expect(sorted(names(all))).toEqual(ALL_A);
    const hidden = await viewer.listUsers({ queries: [org(orgB)] });
    expect(hidden.result).toEqual([]);
    expect(hidden.details!.totalResult).toBe(0n);
  });

  it("the viewer of org B sees only org B", async () => {
    const viewer = userClient("connect-json", server.baseUrl, viewerB.token);
    const res = await viewer.listUsers({});
    expect(sorted(names(res))).toEqual(sorted(["alice.b", "bob.b", viewerB.username]));
    expect(res.details!.totalResult).toBe(3n);
  });

  it("the admin (IAM_OWNER) sees every organization", async () => {
    const res = await admin.listUsers({ queries: [or(org(orgA), org(orgB))], query: { limit: 1000 } });
    expect(sorted(names(res))).toEqual(sorted([...ALL_A, "alice.b", "bob.b", viewerB.username]));
  });
});
