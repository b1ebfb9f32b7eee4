/** Settings from the environment (SPEC §7). */
import { resolve } from "node:path";

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  adminTokenFile: string;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
}

function integer(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: integer("PORT", 8080, env),
    host: env.HOST || "0.0.0.0",
    databaseUrl: env.DATABASE_URL || resolve("data", "zitadel.db"),
    adminTokenFile: env.ADMIN_TOKEN_FILE || resolve("data", "admin.pat"),
    maxBodyBytes: integer("MAX_BODY_BYTES", 1024 * 1024, env),
  };
}
