/** First start on an empty database: the first organization and its IAM_OWNER machine user. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { UserApp } from "./user-app.js";

const FIRST_ORG_NAME = "Default";
const ADMIN_USERNAME = "admin";

/** Writes the admin token to `tokenFile` (mode 0600) and returns true on the first start only. */
export async function initializeOnFirstStart(app: UserApp, tokenFile: string): Promise<boolean> {
  const token = await app.initialize(FIRST_ORG_NAME, ADMIN_USERNAME);
  if (token === undefined) return false;
  mkdirSync(dirname(tokenFile), { recursive: true, mode: 0o700 });
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600, flag: "wx" });
  return true;
}
