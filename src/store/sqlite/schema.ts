import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** The event log: the source of truth. */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    aggregateId: text("aggregate_id").notNull(),
    sequence: integer("sequence").notNull(),
    type: text("type").notNull(),
    payload: text("payload", { mode: "json" }),
    actor: text("actor").notNull(),
    resourceOwner: text("resource_owner").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("events_aggregate_sequence").on(t.aggregateId, t.sequence)],
);

/** Read model of users, updated in the same transaction as the events. */
export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id").notNull(),
    type: text("type", { enum: ["human", "machine"] }).notNull(),
    username: text("username").notNull(),
    /** Unicode lower case of the username (SQLite's lower() folds ASCII only), for ignore-case queries. */
    usernameLower: text("username_lower").notNull(),
    state: text("state", { enum: ["active", "inactive", "deleted", "locked", "initial"] }).notNull(),
    initial: integer("initial", { mode: "boolean" }).notNull(),
    locked: integer("locked", { mode: "boolean" }).notNull(),
    inactive: integer("inactive", { mode: "boolean" }).notNull(),
    removed: integer("removed", { mode: "boolean" }).notNull(),
    givenName: text("given_name"),
    familyName: text("family_name"),
    nickName: text("nick_name"),
    displayName: text("display_name"),
    preferredLanguage: text("preferred_language"),
    gender: text("gender"),
    email: text("email"),
    emailVerified: integer("email_verified", { mode: "boolean" }),
    passwordHash: text("password_hash"),
    passwordChangeRequired: integer("password_change_required", { mode: "boolean" }),
    machineName: text("machine_name"),
    machineDescription: text("machine_description"),
    lockCause: text("lock_cause"),
    lockExpiresAt: integer("lock_expires_at", { mode: "timestamp_ms" }),
    passwordFailures: integer("password_failures").notNull().default(0),
    sequence: integer("sequence").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    changedAt: integer("changed_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    // A removed user's username is free again.
    uniqueIndex("users_org_username").on(t.orgId, t.username).where(sql`${t.removed} = 0`),
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

export const roleGrants = sqliteTable(
  "role_grants",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: text("user_id").notNull(),
    /** Null for an instance-wide role. */
    orgId: text("org_id"),
    role: text("role").notNull(),
  },
  (t) => [index("role_grants_user").on(t.userId)],
);

/** Access tokens, stored only as their SHA-256 hash. */
export const tokens = sqliteTable(
  "tokens",
  {
    hash: text("hash").primaryKey(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("tokens_user").on(t.userId)],
);

/** Sign-in sessions, addressed by id and proven by a token stored only as its hash. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull(),
    userId: text("user_id").notNull(),
    orgId: text("org_id").notNull(),
    sequence: integer("sequence").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    changedAt: integer("changed_at", { mode: "timestamp_ms" }).notNull(),
    userCheckedAt: integer("user_checked_at", { mode: "timestamp_ms" }).notNull(),
    passwordCheckedAt: integer("password_checked_at", { mode: "timestamp_ms" }),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    terminated: integer("terminated", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

/** Lockout settings per organization; the row with scope "instance" is the default for all. */
export const lockoutPolicies = sqliteTable("lockout_policies", {
  scope: text("scope").primaryKey(),
  maxPasswordAttempts: integer("max_password_attempts").notNull(),
  maxOtpAttempts: integer("max_otp_attempts").notNull(),
  lockDurationSeconds: integer("lock_duration_seconds"),
  changedAt: integer("changed_at", { mode: "timestamp_ms" }).notNull(),
});

/** How many users each organization has per state and type, kept with every change: ListUsers' totals. */
export const userCounts = sqliteTable(
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

/**
 * Deliveries to send (EXTENSIONS.md §2), written in the transaction of the event that causes
 * them and deleted once sent: one row per (destination, event). A destination's rows of one
 * user go out one at a time in id order; a parked row waits for an administrator.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    destination: text("destination").notNull(),
    userId: text("user_id").notNull(),
    sequence: integer("sequence").notNull(),
    /** The commit that caused it: deliveries of one cause share it. */
    txn: text("txn").notNull(),
    parked: integer("parked", { mode: "boolean" }).notNull().default(false),
    attempts: integer("attempts").notNull().default(0),
    dueAt: integer("due_at", { mode: "timestamp_ms" }).notNull(),
    leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
    lastError: text("last_error"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    index("outbox_queue").on(t.destination, t.userId, t.id),
    index("outbox_due").on(t.parked, t.dueAt),
    // A lease reads each destination's waiting deliveries oldest first, and only as many as it takes.
    index("outbox_pending").on(t.destination, t.id).where(sql`${t.parked} = 0`),
  ],
);

/**
 * The Shared Signals transmitter's signing keys: the one that signs (`current`) and those rotated
 * out but still published until retired (then deleted). At most one current key, also when
 * several processes start on an empty table.
 */
export const ssfKeys = sqliteTable(
  "ssf_keys",
  {
    kid: text("kid").primaryKey(),
    privateKeyPem: text("private_key_pem").notNull(),
    publicJwk: text("public_jwk", { mode: "json" }).notNull().$type<Record<string, unknown>>(),
    current: integer("current", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    rotatedAt: integer("rotated_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("ssf_keys_one_current").on(t.current).where(sql`${t.current} = 1`)],
);

/** The receivers' event streams, one per receiver (the user that created it). */
export const ssfStreams = sqliteTable(
  "ssf_streams",
  {
    id: text("id").primaryKey(),
    receiverId: text("receiver_id").notNull(),
    aud: text("aud").notNull(),
    deliveryMethod: text("delivery_method").notNull(),
    endpointUrl: text("endpoint_url"),
    authorizationHeader: text("authorization_header"),
    eventsRequested: text("events_requested", { mode: "json" }).$type<string[]>(),
    eventsDelivered: text("events_delivered", { mode: "json" }).notNull().$type<string[]>(),
    description: text("description"),
    format: text("format").notNull(),
    defaultSubjects: text("default_subjects").notNull(),
    status: text("status").notNull(),
    statusReason: text("status_reason"),
    lastVerificationAt: integer("last_verification_at", { mode: "timestamp_ms" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("ssf_streams_receiver").on(t.receiverId)],
);

/** Subjects a receiver added to (included) or removed from (excluded) its stream. */
export const ssfSubjects = sqliteTable(
  "ssf_subjects",
  {
    streamId: text("stream_id").notNull(),
    subjectKey: text("subject_key").notNull(),
    included: integer("included", { mode: "boolean" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.subjectKey] })],
);

/** Verification events receivers asked for, until the delivery side takes them. */
export const ssfVerifications = sqliteTable(
  "ssf_verifications",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    streamId: text("stream_id").notNull(),
    state: text("state"),
    requestedAt: integer("requested_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("ssf_verifications_stream").on(t.streamId)],
);

/**
 * The SETs of poll streams (RFC 8936), signed when the outbox handed them over and kept until the
 * receiver acknowledges them; one the receiver refused keeps its error and is not offered again.
 * `kid` is the key that signed it: a rotated key stays published while any of its SETs wait.
 */
export const ssfPollSets = sqliteTable(
  "ssf_poll_sets",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    streamId: text("stream_id").notNull(),
    jti: text("jti").notNull(),
    kid: text("kid").notNull(),
    set: text("set").notNull(),
    error: text("error"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("ssf_poll_sets_jti").on(t.streamId, t.jti), index("ssf_poll_sets_queue").on(t.streamId, t.id), index("ssf_poll_sets_kid").on(t.kid)],
);

/** Actions v2 targets (EXTENSIONS.md §3). The signing key is kept as it is: every request is signed with it. */
export const actionTargets = sqliteTable(
  "action_targets",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Unicode lower case of the name, for ignore-case filters (SQLite's lower() folds ASCII only). */
    nameLower: text("name_lower").notNull(),
    type: text("type", { enum: ["rest_webhook", "rest_async"] }).notNull(),
    interruptOnError: integer("interrupt_on_error", { mode: "boolean" }).notNull(),
    endpoint: text("endpoint").notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    payloadType: text("payload_type", { enum: ["unspecified", "json"] }).notNull(),
    signingKey: text("signing_key").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    changedAt: integer("changed_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("action_targets_name").on(t.name), index("action_targets_created").on(t.createdAt)],
);

/**
 * Actions v2 executions: one row per target of an execution, in call order; an execution is the
 * rows of its condition. Deleting a target deletes its rows (the connection enables foreign keys).
 */
export const actionExecutions = sqliteTable(
  "action_executions",
  {
    conditionId: text("condition_id").notNull(),
    position: integer("position").notNull(),
    targetId: text("target_id")
      .notNull()
      .references(() => actionTargets.id, { onDelete: "cascade" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    changedAt: integer("changed_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.conditionId, t.position] }), index("action_executions_target").on(t.targetId)],
);
