/** ListUsers' totals read from user_counts agree with counting the users, on every backend. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserApp } from "../src/app/user-app.js";
import type { Principal } from "../src/domain/permissions.js";
import type { StateCommand } from "../src/domain/state-commands.js";
import type { UserFilter, UserListQuery } from "../src/domain/user-query.js";
import type { Store } from "../src/store/store.js";
import { TEST_PASSWORD_HASH } from "./support/fixtures.js";
import { STORE_BACKENDS } from "./support/stores.js";

describe.each(STORE_BACKENDS)("user_counts on $name", (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let app: UserApp;
  let admin: Principal;

  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
    app = new UserApp(store);
    admin = await app.authenticate(`Bearer ${await app.initialize("Default", "admin")}`);
  });
  afterAll(() => dispose());

  it("moves with every state change, creation and deletion", async () => {
    const orgs = [(await app.addOrganization("A")).id, (await app.addOrganization("B")).id];
    const steps: StateCommand[][] = [[], ["lock"], ["deactivate"], ["lock", "deactivate"], ["delete"], ["lock", "unlock"], ["deactivate", "reactivate"]];
    for (const [i, commands] of steps.entries()) {
      for (const orgId of orgs) {
        for (const password of [true, false]) {
          if (!password && commands.includes("deactivate")) continue; // INITIAL users cannot be deactivated
          const { userId } = await app.addHuman(
            {
              orgId,
              username: `u${i}-${password}-${orgId}`,
              profile: { givenName: "Count", familyName: "Me" },
              email: `c${i}@example.com`,
              emailVerified: false,
              password: password ? { hash: TEST_PASSWORD_HASH } : undefined,
              passwordChangeRequired: false,
            },
            admin,
          );
          for (const command of commands) await app.changeState(command, userId, admin);
        }
      }
      await app.addMachineUser(orgs[i % 2]!, `bot-${i}`, "ORG_OWNER_VIEWER");
    }

    const filters: UserFilter[][] = [
      [],
      [{ kind: "org", orgId: orgs[0]! }],
      [{ kind: "state", state: "locked" }],
      [{ kind: "state", state: "inactive" }, { kind: "org", orgId: orgs[1]! }],
      [{ kind: "and", filters: [{ kind: "type", type: "machine" }, { kind: "org", orgId: orgs[0]! }] }],
      [{ kind: "state", state: "deleted" }],
      [{ kind: "state", state: "initial" }],
    ];
    for (const filter of filters) {
      const query: UserListQuery = { filters: filter, visibleOrgs: "all", callerId: admin.userId, sort: "creationDate", asc: true, offset: 0, limit: 1000 };
      const fromCounts = await store.listUsers(query);
      // Every row of the answer is a match, so its length is the true count (all fit in one page).
      expect(fromCounts.total, JSON.stringify(filter)).toBe(fromCounts.users.length);
      // A list of organizations cannot use the counters: the same total, counted.
      const counted = await store.listUsers({ ...query, visibleOrgs: [...orgs, admin.orgId] });
      expect(counted.total, JSON.stringify(filter)).toBe(fromCounts.total);
    }
    expect((await store.listUsers({ filters: [{ kind: "state", state: "locked" }], visibleOrgs: "all", callerId: admin.userId, sort: "creationDate", asc: true, offset: 0, limit: 1 })).total).toBe(4); // ["lock"]: 2 organizations × with and without a password
  });

  it("agree with counting the users after concurrent changes that race, fail and retry", async () => {
    const { id: orgId } = await app.addOrganization("Racing");
    const userIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { userId } = await app.addHuman(
        { orgId, username: `racer-${i}`, profile: { givenName: "Race", familyName: "Me" }, email: `r${i}@example.com`, emailVerified: false, password: { hash: TEST_PASSWORD_HASH }, passwordChangeRequired: false },
        admin,
      );
      userIds.push(userId);
    }
    // Every command on every user at once, twice: many are refused (a lock of a locked user),
    // and writes of the same user in one transaction conflict and are retried.
    const commands: StateCommand[] = ["lock", "unlock", "deactivate", "reactivate", "lock", "unlock", "deactivate"];
    const outcomes = await Promise.allSettled(userIds.flatMap((userId) => [...commands, ...commands].map((command) => app.changeState(command, userId, admin))));
    expect(outcomes.some((o) => o.status === "fulfilled")).toBe(true);
    expect(outcomes.some((o) => o.status === "rejected")).toBe(true);
    await Promise.allSettled(userIds.slice(0, 2).map((userId) => app.changeState("delete", userId, admin)));

    let listed = 0;
    for (const state of ["initial", "active", "locked", "inactive", "deleted"] as const) {
      const query: UserListQuery = { filters: [{ kind: "state", state }, { kind: "org", orgId }], visibleOrgs: "all", callerId: admin.userId, sort: "creationDate", asc: true, offset: 0, limit: 1000 };
      const fromCounts = await store.listUsers(query);
      expect(fromCounts.total, state).toBe(fromCounts.users.length);
      expect((await store.listUsers({ ...query, visibleOrgs: [orgId] })).total, state).toBe(fromCounts.total);
      listed += fromCounts.total;
    }
    expect(listed).toBe(4); // the two deleted users are listed under no state
  });
});
