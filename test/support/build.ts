/** Vitest global setup: the servers and the CLI the tests start run the build `npm start` runs (server and console). */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function build(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: resolve(import.meta.dirname, "../.."), stdio: "inherit" });
}
