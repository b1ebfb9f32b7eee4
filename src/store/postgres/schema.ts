import { sql } from "drizzle-orm";
import { boolean, customType, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

/** A 64-bit transaction id; read as text (node-postgres has no parser for it). */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => "xid8" });

export const organizations = pgTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: instant("created_at").notNull(),
});

/** The event log: the source of truth. */
export const events = pgTable(
  "events",
  {
    id: serial("id").primaryKey(),
    aggregateId: text("aggregate_id").notNull(),
    sequence: integer("sequence").notNull(),
    type: text("type").notNull(),
    payload: jsonb("payload"),
    actor: text("actor").notNull(),
    resourceOwner: text("resource_owner").notNull(),
    createdAt: instant("created_at").notNull(),
    /** The writing transaction: the log's order (snapshot-position.ts). Filled by the default. */
    txId: xid8("tx_id").notNull().default(sql`pg_current_xact_id()`),
  },
  (t) => [uniqueIndex("events_aggregate_sequence").on(t.aggregateId, t.sequence), index("events_tx_id").on(t.txId, t.id)],
);

/** Read model of users, updated in the same transaction as the events. */
export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    type: text("type", { enum: ["human", "machine"] }).notNull(),
    username: text("username").notNull(),
    usernameLower: text("username_lower").notNull(),
    state: text("state", { enum: ["active", "inactive", "deleted", "locked", "initial"] }).notNull(),
    initial: boolean("initial").notNull(),
    locked: boolean("locked").notNull(),
    inactive: boolean("inactive").notNull(),
    removed: boolean("removed").notNull(),
    givenName: text("given_name"),
    familyName: text("family_name"),
    nickName: text("nick_name"),
    displayName: text("display_name"),
    preferredLanguage: text("preferred_language"),
    gender: text("gender"),
    email: text("email"),
    emailVerified: boolean("email_verified"),
    passwordHash: text("password_hash"),
    passwordChangeRequired: boolean("password_change_required"),
    machineName: text("machine_name"),
    machineDescription: text("machine_description"),
    lockCause: text("lock_cause"),
    lockExpiresAt: instant("lock_expires_at"),
    passwordFailures: integer("password_failures").notNull().default(0),
    sequence: integer("sequence").notNull(),
    createdAt: instant("created_at").notNull(),
    changedAt: instant("changed_at").notNull(),
  },
  (t) => [
    // A removed user's username is free again.
    uniqueIndex("users_org_username").on(t.orgId, t.username).where(sql`${t.removed} = false`),
    index("users_org").on(t.orgId),
    index("users_username").on(t.username),
    index("users_username_lower").on(t.usernameLower),
    index("users_created").on(t.createdAt),
    // Partial: only policy locks have an expiry, and the planner must see that this index is small
    // (with statistics of a million NULLs it preferred scanning the table every sweep).
    index("users_lock_expires").on(t.lockExpiresAt).where(sql`${t.lockExpiresAt} is not null`),
    // ListUsers filtered by state in the default order (newest first) reads only the page it returns;
    // it also serves every other filter on state alone.
    index("users_state_created").on(t.state, t.createdAt, t.id),
  ],
);

export const roleGrants = pgTable(
  "role_grants",
  {
    id: serial("id").primaryKey(),
    userId: text("user_id").notNull(),
    /** Null for an instance-wide role. */
    orgId: text("org_id"),
    role: text("role").notNull(),
  },
  (t) => [index("role_grants_user").on(t.userId)],
);

/** Access tokens, stored only as their SHA-256 hash. */
export const tokens = pgTable(
  "tokens",
  {
    hash: text("hash").primaryKey(),
    userId: text("user_id").notNull(),
    createdAt: instant("created_at").notNull(),
    expiresAt: instant("expires_at"),
    revokedAt: instant("revoked_at"),
  },
  (t) => [index("tokens_user").on(t.userId)],
);

/** Sign-in sessions, addressed by id and proven by a token stored only as its hash. */
export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull(),
    userId: text("user_id").notNull(),
    orgId: text("org_id").notNull(),
    sequence: integer("sequence").notNull(),
    createdAt: instant("created_at").notNull(),
    changedAt: instant("changed_at").notNull(),
    userCheckedAt: instant("user_checked_at").notNull(),
    passwordCheckedAt: instant("password_checked_at"),
    expiresAt: instant("expires_at"),
    terminated: boolean("terminated").notNull().default(false),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

/** Lockout settings per organization; the row with scope "instance" is the default for all. */
export const lockoutPolicies = pgTable("lockout_policies", {
  scope: text("scope").primaryKey(),
  maxPasswordAttempts: integer("max_password_attempts").notNull(),
  maxOtpAttempts: integer("max_otp_attempts").notNull(),
  lockDurationSeconds: integer("lock_duration_seconds"),
  changedAt: instant("changed_at").notNull(),
});

/** How many users each organization has per state and type, kept with every change: ListUsers' totals. */
export const userCounts = pgTable(
  "user_counts",
  {
    orgId: text("org_id").notNull(),
    state: text("state").notNull(),
    type: text("type").notNull(),
    shard: integer("shard").notNull().default(0),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.state, t.type, t.shard] })],
);

/** Deliveries to send: see the SQLite schema. */
export const outbox = pgTable(
  "outbox",
  {
    id: serial("id").primaryKey(),
    destination: text("destination").notNull(),
    userId: text("user_id").notNull(),
    sequence: integer("sequence").notNull(),
    txn: text("txn").notNull(),
    parked: boolean("parked").notNull().default(false),
    attempts: integer("attempts").notNull().default(0),
    dueAt: instant("due_at").notNull(),
    leaseUntil: instant("lease_until"),
    lastError: text("last_error"),
    createdAt: instant("created_at").notNull(),
  },
  (t) => [
    index("outbox_queue").on(t.destination, t.userId, t.id),
    index("outbox_due").on(t.parked, t.dueAt),
    // A lease reads each destination's waiting deliveries oldest first, and only as many as it takes.
    index("outbox_pending").on(t.destination, t.id).where(sql`not ${t.parked}`),
  ],
);

/**
 * The Shared Signals transmitter's signing keys: the one that signs (`current`) and those rotated
 * out but still published until retired (then deleted). At most one current key, also when
 * several instances start on an empty table.
 */
export const ssfKeys = pgTable(
  "ssf_keys",
  {
    kid: text("kid").primaryKey(),
    privateKeyPem: text("private_key_pem").notNull(),
    publicJwk: jsonb("public_jwk").notNull().$type<Record<string, unknown>>(),
    current: boolean("current").notNull(),
    createdAt: instant("created_at").notNull(),
    rotatedAt: instant("rotated_at"),
  },
  (t) => [uniqueIndex("ssf_keys_one_current").on(t.current).where(sql`${t.current} = true`)],
);

/** The receivers' event streams, one per receiver (the user that created it). */
export const ssfStreams = pgTable(
  "ssf_streams",
  {
    id: text("id").primaryKey(),
    receiverId: text("receiver_id").notNull(),
    aud: text("aud").notNull(),
    deliveryMethod: text("delivery_method").notNull(),
    endpointUrl: text("endpoint_url"),
    authorizationHeader: text("authorization_header"),
    eventsRequested: jsonb("events_requested").$type<string[]>(),
    eventsDelivered: jsonb("events_delivered").notNull().$type<string[]>(),
    description: text("description"),
    format: text("format").notNull(),
    defaultSubjects: text("default_subjects").notNull(),
    status: text("status").notNull(),
    statusReason: text("status_reason"),
    lastVerificationAt: instant("last_verification_at"),
    createdAt: instant("created_at").notNull(),
    updatedAt: instant("updated_at").notNull(),
  },
  (t) => [uniqueIndex("ssf_streams_receiver").on(t.receiverId)],
);

/** Subjects a receiver added to (included) or removed from (excluded) its stream. */
export const ssfSubjects = pgTable(
  "ssf_subjects",
  {
    streamId: text("stream_id").notNull(),
    subjectKey: text("subject_key").notNull(),
    included: boolean("included").notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.subjectKey] })],
);

/** Verification events receivers asked for, until the delivery side takes them. */
export const ssfVerifications = pgTable(
  "ssf_verifications",
  {
    id: serial("id").primaryKey(),
    streamId: text("stream_id").notNull(),
    state: text("state"),
    requestedAt: instant("requested_at").notNull(),
  },
  (t) => [index("ssf_verifications_stream").on(t.streamId)],
);

/**
 * The SETs of poll streams (RFC 8936), signed when the outbox handed them over and kept until the
 * receiver acknowledges them; one the receiver refused keeps its error and is not offered again.
 * `kid` is the key that signed it: a rotated key stays published while any of its SETs wait.
 */
export const ssfPollSets = pgTable(
  "ssf_poll_sets",
  {
    id: serial("id").primaryKey(),
    streamId: text("stream_id").notNull(),
    jti: text("jti").notNull(),
    kid: text("kid").notNull(),
    set: text("set").notNull(),
    error: text("error"),
    createdAt: instant("created_at").notNull(),
  },
  (t) => [uniqueIndex("ssf_poll_sets_jti").on(t.streamId, t.jti), index("ssf_poll_sets_queue").on(t.streamId, t.id), index("ssf_poll_sets_kid").on(t.kid)],
);

/** Actions v2 targets (EXTENSIONS.md §3). The signing key is kept as it is: every request is signed with it. */
export const actionTargets = pgTable(
  "action_targets",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    nameLower: text("name_lower").notNull(),
    type: text("type", { enum: ["rest_webhook", "rest_async"] }).notNull(),
    interruptOnError: boolean("interrupt_on_error").notNull(),
    endpoint: text("endpoint").notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    payloadType: text("payload_type", { enum: ["unspecified", "json"] }).notNull(),
    signingKey: text("signing_key").notNull(),
    createdAt: instant("created_at").notNull(),
    changedAt: instant("changed_at").notNull(),
  },
  (t) => [uniqueIndex("action_targets_name").on(t.name), index("action_targets_created").on(t.createdAt)],
);

/** Actions v2 executions: one row per target of an execution, in call order; deleting a target deletes its rows. */
export const actionExecutions = pgTable(
  "action_executions",
  {
    conditionId: text("condition_id").notNull(),
    position: integer("position").notNull(),
    targetId: text("target_id")
      .notNull()
      .references(() => actionTargets.id, { onDelete: "cascade" }),
    createdAt: instant("created_at").notNull(),
    changedAt: instant("changed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.conditionId, t.position] }), index("action_executions_target").on(t.targetId)],
);
