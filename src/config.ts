/** Settings from the environment (SPEC §7; each is described in docs/operations.md). */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { LOG_LEVELS } from "./observability/logger.js";
import type { ConnectionLimits } from "./edge/connection-limits.js";
import type { RpcPath } from "./rpc/rpc-handlers.js";
import type { WatchSettings } from "./app/watch.js";
import type { TransmitterSettings } from "./app/ssf/streams.js";
import { parseOutboundAllow, type OutboundPolicy } from "./security/outbound-urls.js";

export interface Config {
  /** Server processes on the one port (main.ts); 1 serves from this process alone, as before there were several. */
  workers: number;
  port: number;
  host: string;
  databaseUrl: string;
  /** Connections per process when DATABASE_URL is PostgreSQL. */
  databasePoolSize: number;
  adminTokenFile: string;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  corsOrigins: Set<string>;
  tls?: { cert: Buffer; key: Buffer };
  /** How long in-flight calls may take to finish after SIGTERM/SIGINT. */
  shutdownGraceMs: number;
  logLevel: string;
  /** Slow and greedy clients: timeouts and caps of every connection. */
  connectionLimits: ConnectionLimits;
  /** Failed credentials (bad tokens, wrong passwords) one address may have per minute; 0: no limit. */
  authFailuresPerMinute: number;
  /** Percent of the V8 old generation's limit in use above which calls are refused; 0: never (observability/heap-pressure.ts). */
  memoryShedPercent: number;
  /** BENCH_NOOP=1 serves the benchmark's no-op RPC. */
  benchNoop: boolean;
  /** RPC_FAST_PATH=off ("stock") serves every call through Connect-ES's stock handlers instead of the fast path. */
  rpcPath: RpcPath;
  /** Watch streams (EXTENSIONS.md §1): see WatchSettings. */
  watch: WatchSettings;
  /** The OpenID Shared Signals transmitter (EXTENSIONS.md §4). */
  ssf: TransmitterSettings & {
    /** How long a poll without returnImmediately waits for a SET. */
    longPollMs: number;
  };
  /** Where outbound requests (Actions v2 targets) may go: OUTBOUND_URL_ALLOW, see security/outbound-urls.ts. */
  outbound: OutboundPolicy;
  /** Sent as `instanceID` in Actions v2 payloads (ZITADEL's instance; this server has one). */
  instanceId: string;
  /** Outbox deliveries (EXTENSIONS.md §2), see app/dispatcher.ts. */
  delivery: { concurrency: number; perDestination: number; giveUpAfterMs: number; maxBackoffMs: number; nice: number };
}


type Env = NodeJS.ProcessEnv;

/**
 * When calls and deliveries both want the CPU, calls get about ten times the deliveries' share at
 * nice 10 (Linux's weights: 1024 against 110); chosen by measurement, bench/FINDINGS.md
 * "2026-12-05, the courier".
 */
const DEFAULT_DELIVERY_NICE = 10;

function integer(name: string, fallback: number, env: Env): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** Measured with --max-old-space-size=96 (docs/guarantees.md, "Memory pressure"). */
const DEFAULT_MEMORY_SHED_PERCENT = 85;

function percent(name: string, fallback: number, env: Env): number {
  const value = integer(name, fallback, env);
  if (value > 100) throw new Error(`${name} must be 0 to 100, got ${value}`);
  return value;
}

/** The delivery process's nice value (app/courier-process.ts): 0 (the server's own) to 19 (the lowest). */
function deliveryNice(env: Env): number {
  const nice = integer("DELIVERY_NICE", DEFAULT_DELIVERY_NICE, env);
  if (nice > 19) throw new Error(`DELIVERY_NICE must be 0 to 19, got ${nice}`);
  return nice;
}

function tls(env: Env): Config["tls"] {
  const certFile = env.TLS_CERT_FILE;
  const keyFile = env.TLS_KEY_FILE;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new Error("set both TLS_CERT_FILE and TLS_KEY_FILE, or neither");
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

function logLevel(env: Env): string {
  const level = env.LOG_LEVEL || "info";
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  return level;
}

function rpcPath(env: Env): RpcPath {
  const raw = env.RPC_FAST_PATH;
  if (raw === undefined || raw === "" || raw === "on") return "fast";
  if (raw === "off") return "stock";
  throw new Error(`RPC_FAST_PATH must be on or off, got "${raw}"`);
}

function connectionLimits(env: Env): ConnectionLimits {
  const limits = {
    headersTimeoutMs: integer("HEADERS_TIMEOUT_MS", 10_000, env),
    requestTimeoutMs: integer("REQUEST_TIMEOUT_MS", 30_000, env),
    idleTimeoutMs: integer("IDLE_TIMEOUT_MS", 120_000, env),
    maxConnections: integer("MAX_CONNECTIONS", 4096, env),
    maxConcurrentStreams: integer("MAX_CONCURRENT_STREAMS", 100, env),
  };
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new Error("HEADERS_TIMEOUT_MS must not be larger than REQUEST_TIMEOUT_MS");
  }
  return limits;
}

/**
 * SSF_ISSUER, else this server's own base URL: SSF §7.1 wants an https URL without query or
 * fragment, and the receivers compare it exactly, so it is kept without a trailing slash.
 */
function ssfIssuer(env: Env, port: number, tls: boolean): string {
  const raw = env.SSF_ISSUER;
  if (raw === undefined || raw === "") return `${tls ? "https" : "http"}://localhost:${port}`;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if ((url?.protocol !== "https:" && url?.protocol !== "http:") || url.search || url.hash || url.username || url.password) {
    throw new Error(`SSF_ISSUER must be an https:// (or http://) URL without query or fragment, got "${raw}"`);
  }
  return url.href.replace(/\/$/, "");
}

function defaultSubjects(env: Env): TransmitterSettings["defaultSubjects"] {
  const raw = env.SSF_DEFAULT_SUBJECTS || "ALL";
  if (raw !== "ALL" && raw !== "NONE") throw new Error(`SSF_DEFAULT_SUBJECTS must be ALL or NONE, got "${raw}"`);
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer("PORT", 8080, env);
  const tlsFiles = tls(env);
  return {
    workers: integer("WORKERS", availableParallelism(), env) || availableParallelism(),
    port,
    host: env.HOST || "0.0.0.0",
    databaseUrl: env.DATABASE_URL || resolve("data", "zitadel.db"),
    databasePoolSize: integer("DATABASE_POOL_SIZE", 10, env) || 10,
    adminTokenFile: env.ADMIN_TOKEN_FILE || resolve("data", "admin.pat"),
    maxBodyBytes: integer("MAX_BODY_BYTES", 1024 * 1024, env),
    corsOrigins: new Set((env.CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean)),
    tls: tlsFiles,
    shutdownGraceMs: integer("SHUTDOWN_GRACE_MS", 10_000, env),
    logLevel: logLevel(env),
    connectionLimits: connectionLimits(env),
    authFailuresPerMinute: integer("AUTH_FAILURES_PER_MINUTE", 60, env),
    memoryShedPercent: percent("MEMORY_SHED_PERCENT", DEFAULT_MEMORY_SHED_PERCENT, env),
    benchNoop: env.BENCH_NOOP === "1",
    rpcPath: rpcPath(env),
    watch: {
      bufferSize: integer("WATCH_BUFFER_EVENTS", 1000, env) || 1000,
      heartbeatMs: integer("WATCH_HEARTBEAT_MS", 15_000, env) || 15_000,
      pollMs: integer("WATCH_POLL_MS", 200, env) || 200,
    },
    ssf: {
      issuer: ssfIssuer(env, port, Boolean(tlsFiles)),
      defaultSubjects: defaultSubjects(env),
      minVerificationIntervalS: integer("SSF_MIN_VERIFICATION_INTERVAL_S", 10, env),
      longPollMs: integer("SSF_LONG_POLL_MS", 20_000, env),
    },
    outbound: parseOutboundAllow(env.OUTBOUND_URL_ALLOW),
    instanceId: env.INSTANCE_ID || "zitadel-user-state",
    delivery: {
      // Chosen by measurement: bench/FINDINGS.md, "2026-12-05, outbox per delivery".
      concurrency: integer("DELIVERY_CONCURRENCY", 256, env) || 256,
      perDestination: integer("DELIVERY_PER_DESTINATION", 32, env) || 32,
      giveUpAfterMs: integer("DELIVERY_GIVE_UP_MS", 24 * 60 * 60 * 1000, env) || 24 * 60 * 60 * 1000,
      maxBackoffMs: integer("DELIVERY_MAX_BACKOFF_MS", 60 * 60 * 1000, env) || 60 * 60 * 1000,
      nice: deliveryNice(env),
    },
  };
}
