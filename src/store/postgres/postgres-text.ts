import { sql } from "drizzle-orm";
import type { TextFunctions } from "../text-match-sql.js";

// strpos and right compare exactly; LIKE would need escaping.
export const POSTGRES_TEXT: TextFunctions = {
  startsWith: (column, text) => sql`strpos(${column}, ${text}) = 1`,
  contains: (column, text) => sql`strpos(${column}, ${text}) > 0`,
  endsWith: (column, text) => sql`right(${column}, length(${text})) = ${text}`,
};
