/**
 * Every call of a user's life over each protocol against a real server on a real port: lock and
 * unlock with ZITADEL's details and errors, then deactivate, reactivate and delete. Every row of
 * the transition table: test/transitions.test.ts (once) and test/domain/state-commands.test.ts;
 * NotFound for a missing or hidden user: test/auth.test.ts.
 */
import { Code } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { PROTOCOLS, userClient } from "./support/clients.js";
import { addHuman, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

const withinAMinute = (date: Date) => Math.abs(date.getTime() - Date.now()) < 60_000;

describe.each(PROTOCOLS)("over %s", (protocol) => {
  it("locks and unlocks a user with ZITADEL's details and errors, then deactivates, reactivates and deletes it", async () => {
    const client = userClient(protocol, server.baseUrl, server.adminToken);
    for (const password of [true, false]) {
      const userId = await addHuman(client, { password });
      const before = (await client.getUserByID({ userId })).user!;
      const earlierState = password ? UserState.ACTIVE : UserState.INITIAL;
      expect(before.state).toBe(earlierState);

      const locked = await client.lockUser({ userId });
      expect(locked.details!.sequence).toBe(2n);
      expect(withinAMinute(timestampDate(locked.details!.changeDate!))).toBe(true);
      expect(withinAMinute(timestampDate(locked.details!.creationDate!))).toBe(true);
      expect(locked.details!.resourceOwner).toBe(before.details!.resourceOwner);
      expect(locked.details!.resourceOwner).toMatch(/^\d{18}$/);

      const read = await client.getUserByID({ userId });
      expect(read.user!.state).toBe(UserState.LOCKED);
      expect(read.details!.sequence).toBe(2n);

      await expectZitadelError(client.lockUser({ userId }), Code.FailedPrecondition, "COMMAND-lgws8wtsqf", "User is not active or initial");

      const unlocked = await client.unlockUser({ userId });
      expect(unlocked.details!.sequence).toBe(3n);
      expect((await client.getUserByID({ userId })).user!.state).toBe(earlierState);

      await expectZitadelError(client.unlockUser({ userId }), Code.FailedPrecondition, "COMMAND-olb9vb0oca", "User is not locked");

      // A lock survives deactivation; unlocking goes back to where the user started.
      const steps = [
        [() => client.lockUser({ userId }), UserState.LOCKED],
        [() => client.deactivateUser({ userId }), UserState.INACTIVE],
        [() => client.reactivateUser({ userId }), UserState.LOCKED],
        [() => client.unlockUser({ userId }), earlierState],
      ] as const;
      let sequence = 3n;
      for (const [call, state] of steps) {
        expect((await call()).details!.sequence).toBe(++sequence);
        expect(UserState[(await client.getUserByID({ userId })).user!.state]).toBe(UserState[state]);
      }
      expect((await client.deleteUser({ userId })).details!.sequence).toBe(++sequence);
      await expectZitadelError(client.getUserByID({ userId }), Code.NotFound, "QUERY-Dfbg2", "User could not be found");
    }
  });
});
