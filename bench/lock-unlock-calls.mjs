/**
 * N lock/unlock calls through UserApp and the SQLite store of the compiled build, 64 at a time,
 * on a fresh database in a temporary folder: what bench/instructions.ts counts under valgrind.
 * Plain JavaScript, so that no loader's code is counted with ours. Each of the 64 callers has
 * 16 users of its own, so no two lock the same user.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserApp } from "../dist/src/app/user-app.js";
import { openSqliteStore } from "../dist/src/store/sqlite/sqlite-store.js";

const CALLS = Number(process.argv[2]);
const CALLERS = 64;
const USERS_EACH = 16;

const folder = mkdtempSync(join(tmpdir(), "zus-instructions-"));
const store = openSqliteStore(join(folder, "zitadel.db"));
const app = new UserApp(store);
const admin = await app.authenticate(`Bearer ${await app.initialize("Default", "admin")}`);
const users = [];
for (let i = 0; i < CALLERS * USERS_EACH; i++) {
  const human = { givenName: "Bench", familyName: `User ${i}` };
  const input = { orgId: admin.orgId, username: `u${i}`, profile: human, email: `u${i}@example.com`, emailVerified: true, passwordChangeRequired: false };
  users.push((await app.addHuman(input, admin)).userId);
}

let started = 0;
async function caller(c) {
  for (let round = 0; started < CALLS; round++) {
    started += 2;
    const userId = users[c + CALLERS * (round % USERS_EACH)];
    await app.changeState("lock", userId, admin);
    await app.changeState("unlock", userId, admin);
  }
}
await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)));
await store.close();
rmSync(folder, { recursive: true });
