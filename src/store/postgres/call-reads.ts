/**
 * The reads every call makes, its token's owner and then its user, gathered over one turn of the
 * event loop and answered by one prepared statement for all of them (each key once): a query
 * costs the server most of its CPU in the driver's write to the socket, and one a turn costs less
 * than two a call (bench/FINDINGS.md, round "2026-12-06, PostgreSQL's reads a turn"). The
 * statement starts after every read in it was asked for, so it sees every commit acknowledged
 * before any of them, whichever instance made it.
 *
 * The text is plain SQL with the users columns named as the users row (user-rows.ts) names them;
 * node-postgres and PGlite both answer timestamps as Dates, integers as numbers and JSON parsed.
 */
import { getTableColumns } from "drizzle-orm";
import type { TokenOwner } from "../store.js";
import type { User } from "../../domain/user.js";
import { fromUserRow, toTokenOwner, type UserRow } from "../user-rows.js";
import type { RunStatement } from "./postgres-store.js";
import * as schema from "./schema.js";
import { GatedBatcher } from "./gated-batcher.js";

const userColumns = Object.entries(getTableColumns(schema.users))
  .map(([key, column]) => `u."${column.name}" as "${key}"`)
  .join(", ");

/**
 * $1 user ids, $2 token hashes, $3 now. A row per found key: `t` false for a user, true for a
 * token's owner (with its role grants); a revoked or expired token finds nobody.
 */
const TEXT =
  `select k.key, k.t, ${userColumns}, ` +
  "case when k.t then coalesce((select json_agg(json_build_object('role', g.role, 'orgId', g.org_id)) from role_grants g where g.user_id = u.id), '[]'::json) end as grants " +
  "from (select id as key, false as t, id as user_id from unnest($1::text[]) as id " +
  "union all select hash, true, user_id from tokens where hash = any($2::text[]) and revoked_at is null and (expires_at is null or expires_at > $3::timestamptz)) as k " +
  "join users u on u.id = k.user_id";

interface Pending {
  /** A token's hash, else a user's id. */
  token: boolean;
  key: string;
  resolve(value: never): void;
  reject(err: unknown): void;
}

type Row = UserRow & { key: string; t: boolean; grants: { role: string; orgId: string | null }[] | null };

export class CallReads {
  private readonly pending: GatedBatcher<Pending>;

  /** `run` must guard the statement (guard.ts); at most `limit` statements are in flight. */
  constructor(
    private readonly run: RunStatement,
    limit: number,
  ) {
    this.pending = new GatedBatcher(limit, (items) => this.readAll(items));
  }

  getUser(id: string): Promise<User | undefined> {
    return new Promise((resolve, reject) => this.pending.add({ token: false, key: id, resolve, reject }));
  }

  findTokenOwner(tokenHash: string): Promise<TokenOwner | undefined> {
    return new Promise((resolve, reject) => this.pending.add({ token: true, key: tokenHash, resolve, reject }));
  }

  private async readAll(items: Pending[]): Promise<void> {
    try {
      const ids = new Set<string>();
      const hashes = new Set<string>();
      for (const item of items) (item.token ? hashes : ids).add(item.key);
      const { rows } = await this.run({ name: "zus_call_reads", text: TEXT, values: [[...ids], [...hashes], new Date()] });
      const users = new Map<string, User>();
      const owners = new Map<string, TokenOwner>();
      for (const row of rows as Row[]) {
        if (row.t) owners.set(row.key, toTokenOwner(row, row.grants!));
        else users.set(row.key, fromUserRow(row));
      }
      for (const item of items) item.resolve((item.token ? owners.get(item.key) : users.get(item.key)) as never);
    } catch (err) {
      for (const item of items) item.reject(err);
    }
  }
}
