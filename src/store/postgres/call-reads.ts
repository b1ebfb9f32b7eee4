/**
 * The reads every call makes, its token's owner and then its user (and a creation's organization),
 * gathered over one turn of the event loop and answered by one prepared statement for all of them
 * (each key once): a query costs the server most of its CPU in the driver's write to the socket,
 * and one a turn costs less than two a call (bench/FINDINGS.md, rounds "2026-12-06, PostgreSQL's
 * reads a turn" and "2026-12-06, PostgreSQL commits as one named statement"). The statement starts
 * after every read in it was asked for, so it sees every commit acknowledged before any of them,
 * whichever instance made it.
 *
 * The text is plain SQL with the users columns named as the users row (user-rows.ts) names them;
 * node-postgres and PGlite both answer timestamps as Dates, integers as numbers and JSON parsed.
 */
import { getTableColumns } from "drizzle-orm";
import type { Organization, TokenOwner } from "../store.js";
import type { User } from "../../domain/user.js";
import { fromUserRow, toTokenOwner, type UserRow } from "../user-rows.js";
import type { RunStatement } from "./postgres-store.js";
import * as schema from "./schema.js";
import { GatedBatcher } from "./gated-batcher.js";

const userColumns = Object.entries(getTableColumns(schema.users))
  .map(([key, column]) => `u."${column.name}" as "${key}"`)
  .join(", ");

/**
 * $1 user ids, $2 token hashes, $3 now, $4 organization ids. A row per found key, `kind` telling
 * which it is: "u" a user, "t" a token's owner (with its role grants; a revoked or expired token
 * finds nobody), "o" an organization (its name and creation, the users columns null).
 */
const TEXT =
  `select k.key, k.kind, ${userColumns}, ` +
  "case when k.kind = 't' then coalesce((select json_agg(json_build_object('role', g.role, 'orgId', g.org_id)) from role_grants g where g.user_id = u.id), '[]'::json) end as grants, " +
  'o.name as "orgName", o.created_at as "orgCreatedAt" ' +
  "from (select id as key, 'u' as kind, id as user_id from unnest($1::text[]) as id " +
  "union all select hash, 't', user_id from tokens where hash = any($2::text[]) and revoked_at is null and (expires_at is null or expires_at > $3::timestamptz) " +
  "union all select id, 'o', null from unnest($4::text[]) as id) as k " +
  "left join users u on u.id = k.user_id left join organizations o on k.kind = 'o' and o.id = k.key " +
  "where u.id is not null or o.id is not null";

type Kind = "u" | "t" | "o";

interface Pending {
  kind: Kind;
  key: string;
  resolve(value: never): void;
  reject(err: unknown): void;
}

type Row = UserRow & { key: string; kind: Kind; grants: { role: string; orgId: string | null }[] | null; orgName: string | null; orgCreatedAt: Date | null };

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
    return this.read("u", id);
  }

  findTokenOwner(tokenHash: string): Promise<TokenOwner | undefined> {
    return this.read("t", tokenHash);
  }

  getOrganization(id: string): Promise<Organization | undefined> {
    return this.read("o", id);
  }

  private read<T>(kind: Kind, key: string): Promise<T | undefined> {
    return new Promise((resolve, reject) => this.pending.add({ kind, key, resolve, reject }));
  }

  private async readAll(items: Pending[]): Promise<void> {
    try {
      const keys: Record<Kind, Set<string>> = { u: new Set(), t: new Set(), o: new Set() };
      for (const item of items) keys[item.kind].add(item.key);
      const { rows } = await this.run({ name: "zus_call_reads", text: TEXT, values: [[...keys.u], [...keys.t], new Date(), [...keys.o]] });
      const found: Record<Kind, Map<string, unknown>> = { u: new Map(), t: new Map(), o: new Map() };
      for (const row of rows as Row[]) found[row.kind].set(row.key, answerOf(row));
      for (const item of items) item.resolve(found[item.kind].get(item.key) as never);
    } catch (err) {
      for (const item of items) item.reject(err);
    }
  }
}

function answerOf(row: Row): User | TokenOwner | Organization {
  if (row.kind === "o") return { id: row.key, name: row.orgName!, createdAt: row.orgCreatedAt! };
  return row.kind === "t" ? toTokenOwner(row, row.grants!) : fromUserRow(row);
}
