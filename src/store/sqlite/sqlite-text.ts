import { sql } from "drizzle-orm";
import type { TextFunctions } from "../text-match-sql.js";

// instr and substr compare exactly; SQLite's LIKE folds ASCII case and needs escaping.
export const SQLITE_TEXT: TextFunctions = {
  startsWith: (column, text) => sql`instr(${column}, ${text}) = 1`,
  contains: (column, text) => sql`instr(${column}, ${text}) > 0`,
  endsWith: (column, text) => sql`substr(${column}, -length(${text})) = ${text}`,
};
