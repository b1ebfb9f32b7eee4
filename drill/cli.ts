/** What the drills' command lines share: their options' checks, and servers that go down with the drill. */
import { killDrillServers, type Backend } from "./servers.js";

export function wholeNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number`);
  return Number(text);
}

/** `--backend sqlite|postgres|all`. */
export function backendsOf(text: string): Backend[] {
  const backends: Record<string, Backend[]> = { sqlite: ["sqlite"], postgres: ["postgres"], all: ["sqlite", "postgres"] };
  const chosen = backends[text];
  if (!chosen) throw new Error(`unknown backend ${text}`);
  return chosen;
}

/** Parses the options with `parse`; a mistake prints it with the usage and exits 2. */
export function optionsOr<T>(usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exit(2);
  }
}

/** On SIGINT or SIGTERM, SIGKILL the drill's servers and exit as a signal would. */
export function killServersOnSignals(): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.once(signal, () => {
      killDrillServers();
      process.exit(code);
    });
  }
}

/** The PostgreSQL server drills make their databases on. */
export const DRILL_POSTGRES_URL = process.env.TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/test";
