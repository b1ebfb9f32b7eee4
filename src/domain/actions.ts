/**
 * Actions v2 (EXTENSIONS.md §3, ZITADEL's zitadel.action.v2): targets, the receivers events are
 * sent to, and executions, which say which targets get which events. Only event conditions are
 * served; an execution is named by its condition, in ZITADEL's form: "event/user.locked" (one
 * type), "event/user.*" (a group: every type below it), "event" (all).
 */
import { DomainError } from "./errors.js";
import { isUserEventType, USER_EVENT_TYPES } from "./events.js";
import type { Secret } from "./secret.js";

/** rest_call is refused: its answer is mapped into a request, which only request and response executions have. */
export type TargetType = "rest_webhook" | "rest_async";
/** What the client chose; ZITADEL keeps "unspecified" as given and sends it as JSON. JWT and JWE are refused. */
export type PayloadType = "unspecified" | "json";

export interface Target {
  id: string;
  name: string;
  type: TargetType;
  /** Only for rest_webhook: a failure stops the execution's later targets. */
  interruptOnError: boolean;
  endpoint: string;
  timeoutMs: number;
  payloadType: PayloadType;
  /** The HMAC key of the ZITADEL-Signature header; shown to whoever may read the target, as ZITADEL does. */
  signingKey: Secret;
  createdAt: Date;
  changedAt: Date;
}

/** ZITADEL's limit on a target's timeout (its proto's validation rule). */
export const MAX_TIMEOUT_MS = 270_000;

export type EventCondition = { kind: "event"; event: string } | { kind: "group"; group: string } | { kind: "all" };

export interface Execution {
  condition: EventCondition;
  /** Target ids, in the order they are called. */
  targetIds: string[];
  createdAt: Date;
  changedAt: Date;
}

const GROUP_SUFFIX = ".*";

/** A group may be written with ZITADEL's ".*" suffix; it means the same. */
const groupName = (group: string) => (group.endsWith(GROUP_SUFFIX) ? group.slice(0, -GROUP_SUFFIX.length) : group);

/** The condition's id: the execution's key, also what ListExecutions sorts by ID. */
export function conditionId(condition: EventCondition): string {
  switch (condition.kind) {
    case "event":
      return `event/${condition.event}`;
    case "group":
      return `event/${groupName(condition.group)}${GROUP_SUFFIX}`;
    case "all":
      return "event";
  }
}

export function conditionOf(id: string): EventCondition {
  if (id === "event") return { kind: "all" };
  const name = id.slice("event/".length);
  return name.endsWith(GROUP_SUFFIX) ? { kind: "group", group: name.slice(0, -GROUP_SUFFIX.length) } : { kind: "event", event: name };
}

/**
 * As ZITADEL refuses a condition on an event it does not know (NotFound): a type this server
 * records, or a group with at least one such type below it.
 */
export function checkEventCondition(condition: EventCondition): void {
  if (condition.kind === "event" && !isUserEventType(condition.event)) {
    throw new DomainError("NotFound", "COMMAND-74aaqj8fv9", "Execution condition is invalid");
  }
  if (condition.kind === "group" && !USER_EVENT_TYPES.some((type) => type.startsWith(`${groupName(condition.group)}.`))) {
    throw new DomainError("NotFound", "COMMAND-er5oneb5lz", "Execution condition is invalid");
  }
}

/**
 * The conditions an event of this type matches, most specific first: its own type, then each
 * group above it from the nearest (user.human.added: user.human.*, then user.*), then all.
 * As ZITADEL, an event goes to the targets of the first of these that has an execution only.
 */
export function conditionIdsFor(eventType: string): string[] {
  const parts = eventType.split(".");
  const groups = parts.slice(0, -1).map((_, i) => conditionId({ kind: "group", group: parts.slice(0, parts.length - 1 - i).join(".") }));
  return [conditionId({ kind: "event", event: eventType }), ...groups, conditionId({ kind: "all" })];
}

export const targetNotFound = (id: string) => new DomainError("NotFound", id, "Target not found");

/** ZITADEL has no text for this one and answers with its message key. */
export const targetNameTaken = () => new DomainError("AlreadyExists", "V3-DKcYh", "Errors.Target.AlreadyExists");

export const noTimeout = (id: string) => new DomainError("InvalidArgument", id, "Target has no timeout");
