/** config → store → app → server; SIGTERM and SIGINT drain, then close the store. */
import { UserApp } from "./app.js";
import { initializeOnFirstStart } from "./bootstrap.js";
import { loadConfig } from "./config.js";
import { createHandler } from "./http-handler.js";
import { log } from "./log.js";
import { listen } from "./server.js";
import { openStore } from "./store/open.js";

async function main() {
  const config = loadConfig();
  const store = openStore(config.databaseUrl);
  const app = new UserApp(store);
  if (await initializeOnFirstStart(app, config.adminTokenFile)) {
    log("info", "first start: created the first organization and an IAM_OWNER machine user", {
      tokenFile: config.adminTokenFile,
    });
  }
  const server = await listen(createHandler(app, config), config.port, config.host);
  log("info", "listening", { host: config.host, port: server.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "shutting down", { signal });
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => {
  log("error", "failed to start", { error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
