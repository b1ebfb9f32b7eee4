/**
 * The order vitest starts the test files in: the slowest first. A file of a minute that starts
 * last keeps the run going alone while the other worker idles; started first, the short files
 * fill in beside it. Vitest orders by the durations of the last run where it has them, but a
 * fresh clone (CI) has none and gets the largest files first, which puts the drills, small
 * files of a minute each, near the end.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** The files that took 25 s or more in a project on 2 cores (2026-12-06), slowest first. */
const SLOWEST = [
  "test/delivery-drill.test.ts",
  "test/watch.test.ts",
  "test/cli.test.ts",
  "test/crash-drill.test.ts",
  "test/cli-user.test.ts",
  "test/fuzz.test.ts",
  "test/user-counts.test.ts",
  "test/sessions.test.ts",
  "test/bulk.test.ts",
  "test/ssf/management.test.ts",
  "test/console-lock-record.test.ts",
  "test/outbox.test.ts",
];

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const at = SLOWEST.indexOf(relative(spec.project.config.root, spec.moduleId).replaceAll("\\", "/"));
      return at === -1 ? SLOWEST.length : at;
    };
    // Array sort is stable: the other files keep vitest's own order (by project, then duration or size).
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
