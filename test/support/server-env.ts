/** The environment of a server of its own: a free port on loopback, its SQLite file and admin token file in `dataDir`. */
import { join } from "node:path";

export function serverEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: join(dataDir, "zitadel.db"),
    ADMIN_TOKEN_FILE: join(dataDir, "admin.pat"),
  };
}
