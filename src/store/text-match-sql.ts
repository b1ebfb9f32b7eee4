/** A text filter of the list queries (ZITADEL's eight text methods) as SQL, for either dialect. */
import { sql, type Column, type SQL } from "drizzle-orm";
import type { TextMatch } from "../domain/user-query.js";

/** Exact substring tests: LIKE would need escaping and folds case by its own rules. */
export interface TextFunctions {
  startsWith(column: SQL, text: string): SQL;
  contains(column: SQL, text: string): SQL;
  endsWith(column: SQL, text: string): SQL;
}

/**
 * `exact` holds the text, `lower` its Unicode lower case (kept in a column of its own: SQLite's
 * lower() folds ASCII only), which the ignore-case methods compare with the lower-cased value.
 */
export function textCondition(text: TextFunctions, exact: Column, lower: Column, value: string, match: TextMatch): SQL {
  const ignoreCase = match.endsWith("IgnoreCase");
  const column = sql`${ignoreCase ? lower : exact}`;
  const needle = ignoreCase ? value.toLowerCase() : value;
  switch (match) {
    case "equals":
    case "equalsIgnoreCase":
      return sql`${column} = ${needle}`;
    case "startsWith":
    case "startsWithIgnoreCase":
      return text.startsWith(column, needle);
    case "contains":
    case "containsIgnoreCase":
      return text.contains(column, needle);
    case "endsWith":
    case "endsWithIgnoreCase":
      return text.endsWith(column, needle);
  }
}
