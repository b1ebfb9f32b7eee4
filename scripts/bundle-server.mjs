/**
 * Bundles the compiled server (dist/src/main.js) into one file, dist/server.mjs, which
 * `npm start` runs, its delivery process (dist/src/courier-main.js, app/courier-process.ts)
 * into dist/courier.mjs and the admin CLI (dist/src/cli/main.js, `npm run cli`) into dist/cli.mjs
 * beside it. Node 20 resolves and loads each of the ~450 modules of the server's
 * import graph separately: about 1 s to the first answer, about 0.5 s from one file
 * (bench/README.md, What was changed). The native SQLite driver stays outside.
 */
import { build } from "esbuild";

await build({
  entryPoints: {
    server: "dist/src/main.js",
    courier: "dist/src/courier-main.js",
    // Every CLI command pays the same start-up; the test suite runs the CLI many times (organizations, machine users).
    cli: "dist/src/cli/main.js",
  },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  // better-sqlite3 loads its compiled addon from its own folder; pg-native is an optional
  // peer of pg that this project does not install.
  external: ["better-sqlite3", "pg-native"],
  // Some bundled CommonJS packages call require() for Node's built-ins; an ES module has none.
  banner: { js: 'import { createRequire as bundleRequire } from "node:module"; const require = bundleRequire(import.meta.url);' },
  logLevel: "warning",
});
