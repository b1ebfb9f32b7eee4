/**
 * What a server makes on its first start, once: the Shared Signals transmitter's signing key, and
 * the first organization with its IAM_OWNER machine user, whose token goes to ADMIN_TOKEN_FILE.
 * With several workers the cluster's primary runs it before forking them (primary.ts), and each
 * worker's run finds it all made.
 */
import { initializeOnFirstStart } from "./app/bootstrap.js";
import type { SigningKeys } from "./app/ssf/signing-keys.js";
import type { UserApp } from "./app/user-app.js";
import type { Logger } from "./observability/logger.js";

export async function firstStart(app: UserApp, signingKeys: SigningKeys, adminTokenFile: string, logger: Logger): Promise<void> {
  const firstKid = await signingKeys.ensure();
  if (firstKid) logger.info({ kid: firstKid }, "first start: created the Shared Signals transmitter's signing key");
  if (await initializeOnFirstStart(app, adminTokenFile)) {
    logger.info({ tokenFile: adminTokenFile }, "first start: created the first organization and an IAM_OWNER machine user");
  }
}
