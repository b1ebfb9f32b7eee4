import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project's root: the nearest folder above this file with a package.json (works from src/ and from a build). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("package.json not found above the store module");
    dir = parent;
  }
  return dir;
}

/** The committed drizzle-kit migrations of each backend. */
export const MIGRATIONS = {
  sqlite: join(projectRoot(), "drizzle", "sqlite"),
  postgres: join(projectRoot(), "drizzle", "postgres"),
};
