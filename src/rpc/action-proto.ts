/**
 * zitadel.action.v2 targets and executions ↔ domain values, with ZITADEL's request validation
 * (its protoc-gen-validate rules, in their wording) and the refusal, naming it, of what ZITADEL
 * declares but this server does not serve: rest_call targets, JWT and JWE payloads, request,
 * response and function conditions.
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, type Duration } from "@bufbuild/protobuf/wkt";
import type { Condition, EventExecution } from "../../gen/zitadel/action/v2/execution_pb.js";
import { ExecutionSchema, type Execution as ProtoExecution } from "../../gen/zitadel/action/v2/execution_pb.js";
import { PayloadType as ProtoPayloadType, TargetSchema, type RESTWebhook, type Target as ProtoTarget } from "../../gen/zitadel/action/v2/target_pb.js";
import type { TargetKind } from "../app/actions.js";
import { MAX_TIMEOUT_MS, type EventCondition, type Execution, type PayloadType, type Target } from "../domain/actions.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { checkOutboundUrl, type OutboundPolicy } from "../security/outbound-urls.js";
import { requireLength } from "./from-proto.js";

const MAX_NAME_LENGTH = 1000;
const MAX_ENDPOINT_LENGTH = 2048;
const MAX_CONDITION_LENGTH = 1000;
/** Targets of one execution: each is a bound SQL parameter. */
const MAX_EXECUTION_TARGETS = 1000;

export const requireTargetId = (id: string, message: string) => requireLength(id, message, "Id", 1, 200);
export const requireTargetName = (name: string, message: string) => requireLength(name, message, "Name", 1, MAX_NAME_LENGTH);

const notServed = (field: string, what: string, served: string) => invalidArgument(`invalid ${field}: ${what} not supported by this server, only ${served}`);
const undefinedEnum = (field: string) => invalidArgument(`invalid ${field}: value must be one of the defined enum values`);

type ProtoTargetType =
  | { case: "restWebhook"; value: RESTWebhook }
  | { case: "restCall"; value: unknown }
  | { case: "restAsync"; value: unknown }
  | { case: undefined; value?: undefined };

/** The target type of a create or update request; undefined when none is given. */
export function targetKind(targetType: ProtoTargetType, message: string): TargetKind | undefined {
  switch (targetType.case) {
    case "restWebhook":
      return { type: "rest_webhook", interruptOnError: targetType.value.interruptOnError };
    case "restAsync":
      return { type: "rest_async", interruptOnError: false };
    case "restCall":
      // Its answer is mapped into a request, which only request and response conditions have.
      throw notServed(`${message}.RestCall`, "rest_call targets are", "rest_webhook and rest_async");
    case undefined:
      return undefined;
  }
}

/** JSON only; UNSPECIFIED is kept as given (ZITADEL sends it as JSON). */
export function payloadType(value: ProtoPayloadType, message: string): PayloadType {
  switch (value) {
    case ProtoPayloadType.UNSPECIFIED:
      return "unspecified";
    case ProtoPayloadType.JSON:
      return "json";
    case ProtoPayloadType.JWT:
    case ProtoPayloadType.JWE:
      throw notServed(`${message}.PayloadType`, `PAYLOAD_TYPE_${ProtoPayloadType[value]} is`, "PAYLOAD_TYPE_JSON");
    default:
      throw undefinedEnum(`${message}.PayloadType`);
  }
}

/**
 * A timeout as ZITADEL's rule has it (0 s to 4 min 30 s) in whole milliseconds, rounded up so
 * that a positive one stays positive; a missing one is 0, which the app refuses as ZITADEL does.
 */
export function timeoutMs(timeout: Duration | undefined, message: string): number {
  if (!timeout) return 0;
  const field = `${message}.Timeout`;
  const ms = durationMs(timeout, field);
  if (ms < 0) throw invalidArgument(`invalid ${field}: value must be greater than or equal to 0s`);
  if (ms > MAX_TIMEOUT_MS) throw invalidArgument(`invalid ${field}: value must be less than or equal to 4m30s`);
  return Math.ceil(ms);
}

/** Only an immediate rotation ("0s"), as ZITADEL's rule allows. */
export function rotatesSigningKey(expiration: Duration | undefined): boolean {
  if (!expiration) return false;
  const field = "UpdateTargetRequest.ExpirationSigningKey";
  if (durationMs(expiration, field) !== 0) throw invalidArgument(`invalid ${field}: value must equal 0s`);
  return true;
}

function durationMs({ seconds, nanos }: Duration, field: string): number {
  const valid =
    seconds >= -315_576_000_000n && seconds <= 315_576_000_000n && nanos > -1e9 && nanos < 1e9 && (seconds === 0n || nanos === 0 || (seconds > 0n) === (nanos > 0));
  if (!valid) throw invalidArgument(`invalid ${field}: value is not a valid duration`);
  return Number(seconds) * 1000 + nanos / 1e6;
}

/** ZITADEL's length rule, then the outbound allow-list (OUTBOUND_URL_ALLOW). */
export function endpoint(url: string, message: string, policy: OutboundPolicy): string {
  const field = `${message}.Endpoint`;
  requireLength(url, message, "Endpoint", 1, MAX_ENDPOINT_LENGTH);
  const verdict = checkOutboundUrl(url, policy);
  if (!verdict.allowed) throw invalidArgument(`invalid ${field}: ${verdict.reason}`);
  return url;
}

export function toProtoTarget(target: Target): ProtoTarget {
  return create(TargetSchema, {
    id: target.id,
    creationDate: timestampFromDate(target.createdAt),
    changeDate: timestampFromDate(target.changedAt),
    name: target.name,
    targetType:
      target.type === "rest_webhook"
        ? { case: "restWebhook", value: { interruptOnError: target.interruptOnError } }
        : { case: "restAsync", value: {} },
    timeout: durationFromMs(target.timeoutMs),
    endpoint: target.endpoint,
    signingKey: target.signingKey.reveal(),
    payloadType: target.payloadType === "json" ? ProtoPayloadType.JSON : ProtoPayloadType.UNSPECIFIED,
  });
}

/** SetExecution's condition: present, and an event condition. */
export function eventCondition(condition: Condition | undefined): EventCondition {
  // As ZITADEL answers a request without a condition.
  if (!condition) throw new DomainError("InvalidArgument", "ACTION-5r5Ju", "Execution condition is invalid");
  return conditionInFilter(condition);
}

/** A condition of SetExecution or of a filter: only event conditions are served. */
export function conditionInFilter(condition: Condition): EventCondition {
  const { conditionType } = condition;
  switch (conditionType.case) {
    case "event":
      return eventExecution(conditionType.value);
    case "request":
      throw notServed("Condition.Request", "request conditions are", "event conditions");
    case "response":
      throw notServed("Condition.Response", "response conditions are", "event conditions");
    case "function":
      throw notServed("Condition.Function", "function conditions are", "event conditions");
    case undefined:
      throw invalidArgument("invalid Condition.ConditionType: value is required");
  }
}

function eventExecution({ condition }: EventExecution): EventCondition {
  switch (condition.case) {
    case "event":
      return { kind: "event", event: requireLength(condition.value, "EventExecution", "Event", 1, MAX_CONDITION_LENGTH) };
    case "group":
      return { kind: "group", group: requireLength(condition.value, "EventExecution", "Group", 1, MAX_CONDITION_LENGTH) };
    case "all":
      if (!condition.value) throw invalidArgument("invalid EventExecution.All: value must equal true");
      return { kind: "all" };
    case undefined:
      throw invalidArgument("invalid EventExecution.Condition: value is required");
  }
}

/** An execution's target ids: at most 1,000, each once. */
export function executionTargetIds(ids: string[]): string[] {
  if (ids.length > MAX_EXECUTION_TARGETS) {
    throw invalidArgument(`invalid SetExecutionRequest.Targets: value must contain no more than ${MAX_EXECUTION_TARGETS} item(s)`);
  }
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    requireLength(id, "SetExecutionRequest", `Targets[${i}]`, 1, 200);
    if (seen.has(id)) throw invalidArgument(`invalid SetExecutionRequest.Targets[${i}]: repeated value must contain unique items`);
    seen.add(id);
  });
  return ids;
}

export function toProtoExecution(execution: Execution): ProtoExecution {
  const { condition } = execution;
  const event =
    condition.kind === "event"
      ? { case: "event" as const, value: condition.event }
      : condition.kind === "group"
        ? { case: "group" as const, value: condition.group }
        : { case: "all" as const, value: true };
  return create(ExecutionSchema, {
    condition: { conditionType: { case: "event", value: { condition: event } } },
    creationDate: timestampFromDate(execution.createdAt),
    changeDate: timestampFromDate(execution.changedAt),
    targets: execution.targetIds,
  });
}
