import { defineConfig } from "vitest/config";
import SlowestFirst from "./test/support/sequencer.js";

/** The RPC suite that runs a second time with every server on PostgreSQL. */
const RPC_SUITE = [
  "test/lifecycle.test.ts",
  "test/transitions.test.ts",
  "test/auth.test.ts",
  "test/list-users.test.ts",
  "test/bad-input.test.ts",
  "test/add-human.test.ts",
  "test/race.test.ts",
  "test/rest.test.ts",
  "test/buf-curl.test.ts",
  "test/grpc-web-text.test.ts",
  "test/cli.test.ts",
  "test/cli-user.test.ts",
  "test/cli-deliveries.test.ts",
  "test/sessions.test.ts",
  "test/history.test.ts",
  "test/lock-record.test.ts",
  "test/lock-status.test.ts",
  "test/watch.test.ts",
  "test/actions-delivery.test.ts",
  "test/bulk.test.ts",
  "test/actions.test.ts",
  "test/delivery-service.test.ts",
  "test/crash-drill.test.ts",
  "test/ssf/management.test.ts",
];

/** The suites that run again with every server serving calls through Connect-ES's stock handlers (RPC_FAST_PATH=off). */
const STOCK_PATH_SUITE = ["test/lifecycle.test.ts", "test/bad-input.test.ts", "test/fuzz.test.ts", "test/rest.test.ts", "test/grpc-web-text.test.ts"];

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  globalSetup: ["test/support/build.ts"],
  // A worker process runs file after file of its project, importing the shared modules (the
  // generated code, Connect, the clients) once instead of once a file: a fresh process per file
  // cost about 3 s of the two cores each, some 400 s of worker time for the whole suite. Every
  // file still starts servers of its own; none changes module state that another reads.
  isolate: false,
};

export default defineConfig({
  test: {
    // Each file starts its own server processes; two at a time fit two cores. Three were
    // slower, though two keep only ~1.3 of the cores busy on average (fresh-clone CI on
    // 2026-12-06: the tests took 859 s with three files at a time, 686 s with two).
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirst },
    projects: [
      { test: { ...shared, name: "sqlite", include: ["test/**/*.test.ts"] } },
      { test: { ...shared, name: "stock-path", include: STOCK_PATH_SUITE, env: { RPC_FAST_PATH: "off" } } },
      // With TEST_POSTGRES_URL set (CI sets it), the RPC suite runs again on a real PostgreSQL.
      ...(process.env.TEST_POSTGRES_URL
        ? [{ test: { ...shared, name: "postgres", include: RPC_SUITE, env: { TEST_DATABASE: "postgres" } } }]
        : []),
    ],
  },
});
