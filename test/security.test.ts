/**
 * Secrets at rest and in answers (issue 7): owner-only data files, tokens stored only as
 * hashes, and headers that keep answers out of caches and content sniffing.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userClient } from "./support/clients.js";
import { storedValues } from "./support/db.js";
import { addHuman } from "./support/fixtures.js";
import { newDataDir, startServer, type TestServer } from "./support/server.js";

const mode = (path: string) => statSync(path).mode & 0o777;

describe("secrets (real server on a fresh data directory)", () => {
  let server: TestServer;
  let userId: string;
  beforeAll(async () => {
    // A directory the server has to create itself.
    server = await startServer({ dataDir: join(newDataDir(), "data") });
    // A write, so that the WAL and shared-memory files exist too.
    userId = await addHuman(userClient("connect-json", server.baseUrl, server.adminToken));
  });
  afterAll(() => server?.stop());

  it("creates the data directory owner-only and every file in it readable by its owner alone", () => {
    expect(mode(server.dataDir)).toBe(0o700);
    for (const file of ["zitadel.db", "zitadel.db-wal", "zitadel.db-shm", "admin.pat"]) {
      expect(mode(join(server.dataDir, file)), file).toBe(0o600);
    }
  });

  it("stores the admin token only as a hash", async () => {
    const tables = ["tokens", "users", "events"];
    for (const table of tables) {
      const values = await storedValues(server, table);
      expect(values.some((v) => v.includes(server.adminToken)), table).toBe(false);
    }
  });

  it("answers REST, Connect and errors with no-store and nosniff", async () => {
    const auth = { authorization: `Bearer ${server.adminToken}` };
    const answers = [
      await fetch(`${server.baseUrl}/v2/users/${userId}`, { headers: auth }),
      await fetch(`${server.baseUrl}/v2/users/not-there`, { headers: auth }),
      await fetch(`${server.baseUrl}/v2/users/${userId}`),
      await fetch(`${server.baseUrl}/zitadel.user.v2.UserService/GetUserByID`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ userId }),
      }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 404, 401, 200]);
    for (const answer of answers) {
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });
});
