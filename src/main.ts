/**
 * config → one server process (WORKERS=1), or a cluster: the primary (primary.ts) and the
 * WORKERS server processes it forks, each running serve.ts on the one port.
 */
import cluster from "node:cluster";
import { loadConfig } from "./config.js";
import { createLogger } from "./observability/logger.js";
import { runPrimary } from "./primary.js";
import { serve } from "./serve.js";

async function main() {
  const config = loadConfig();
  if (config.workers === 1) return serve(config, createLogger(config.logLevel), false);
  // Every line says which process wrote it: the workers share the primary's stdout.
  if (cluster.isPrimary) return runPrimary(config, createLogger(config.logLevel, 1, { primary: process.pid }));
  return serve(config, createLogger(config.logLevel, 1, { worker: process.pid }), true);
}

main().catch((err: unknown) => {
  createLogger("error").fatal({ error: err instanceof Error ? err.message : String(err) }, "failed to start");
  process.exit(1);
});
