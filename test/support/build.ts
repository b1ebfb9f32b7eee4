/** Vitest global setup: the servers and the CLI the tests start run the compiled build, as `npm start` does. */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function build(): void {
  const root = resolve(import.meta.dirname, "../..");
  execFileSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
