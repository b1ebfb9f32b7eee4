/**
 * Actions v2 (EXTENSIONS.md §3): targets and executions, for callers holding the action.*
 * permissions (IAM_OWNER); and, for the delivery of events, which targets an event goes to.
 * Endpoints are checked against the outbound allow-list by the API (rpc/action-proto.ts) and
 * must be checked again before each send: `outbound` is the policy both use.
 */
import { checkEventCondition, conditionId, conditionIdsFor, noTimeout, targetNameTaken, targetNotFound, type EventCondition, type Execution, type PayloadType, type Target, type TargetType } from "../domain/actions.js";
import type { ExecutionListQuery, TargetListQuery } from "../domain/action-query.js";
import { hasInstancePermission, type Permission, type Principal } from "../domain/permissions.js";
import type { Secret } from "../domain/secret.js";
import { permissionDenied } from "../domain/state-commands.js";
import { newId } from "../security/ids.js";
import type { OutboundPolicy } from "../security/outbound-urls.js";
import { newSigningKey } from "../security/tokens.js";
import { ConflictError, type ActionStore } from "../store/store.js";

export interface TargetKind {
  type: TargetType;
  interruptOnError: boolean;
}

export interface NewTarget extends TargetKind {
  name: string;
  endpoint: string;
  timeoutMs: number;
  payloadType: PayloadType;
}

/** What UpdateTarget changes: each field that is set. */
export interface TargetChanges {
  name?: string;
  kind?: TargetKind;
  endpoint?: string;
  timeoutMs?: number;
  /** "unspecified" leaves it as it is, as in ZITADEL. */
  payloadType: PayloadType;
  /** A new signing key at once (ZITADEL serves only an expiration of 0 s). */
  rotateSigningKey: boolean;
}

export class ActionsApp {
  constructor(
    private readonly store: ActionStore,
    /** Where targets may point: OUTBOUND_URL_ALLOW. */
    readonly outbound: OutboundPolicy,
    private readonly now: () => Date = () => new Date(),
    /** A target was changed or deleted here (the delivery side's senders make it take effect at once). */
    private readonly targetChanged: (id: string) => void = () => {},
  ) {}

  async createTarget(input: NewTarget, caller: Principal): Promise<Target> {
    mustHold(caller, "action.target.write");
    if (input.timeoutMs <= 0) throw noTimeout("COMMAND-39f35d8uri");
    const at = this.now();
    const target: Target = { ...input, id: newId(at.getTime()), signingKey: newSigningKey(), createdAt: at, changedAt: at };
    await nameMustBeFree(this.store.addTarget(target));
    return target;
  }

  /** The change date (the stored one when nothing changes), and the new signing key if it was replaced. */
  async updateTarget(id: string, changes: TargetChanges, caller: Principal): Promise<{ changedAt: Date; signingKey?: Secret }> {
    mustHold(caller, "action.target.write");
    if (changes.timeoutMs !== undefined && changes.timeoutMs <= 0) throw noTimeout("COMMAND-08b39vdi57");
    const stored = await this.store.getTarget(id);
    if (!stored) throw targetNotFound("COMMAND-xj14f2cccn");
    const changed: Target = {
      ...stored,
      ...(changes.name !== undefined && { name: changes.name }),
      ...changes.kind,
      ...(changes.endpoint !== undefined && { endpoint: changes.endpoint }),
      ...(changes.timeoutMs !== undefined && { timeoutMs: changes.timeoutMs }),
      ...(changes.payloadType !== "unspecified" && { payloadType: changes.payloadType }),
    };
    const same = (["name", "type", "interruptOnError", "endpoint", "timeoutMs", "payloadType"] as const).every((key) => changed[key] === stored[key]);
    if (same && !changes.rotateSigningKey) return { changedAt: stored.changedAt };
    const signingKey = changes.rotateSigningKey ? newSigningKey() : undefined;
    const changedAt = this.now();
    const updated = await nameMustBeFree(this.store.updateTarget({ ...changed, signingKey: signingKey ?? stored.signingKey, changedAt }));
    // Deleted since it was read.
    if (!updated) throw targetNotFound("COMMAND-xj14f2cccn");
    this.targetChanged(id);
    return { changedAt, signingKey };
  }

  /** The deletion date; undefined when there was no such target, which is no error (as in ZITADEL). */
  async deleteTarget(id: string, caller: Principal): Promise<Date | undefined> {
    mustHold(caller, "action.target.delete");
    const at = this.now();
    if (!(await this.store.deleteTarget(id))) return undefined;
    this.targetChanged(id);
    return at;
  }

  async getTarget(id: string, caller: Principal): Promise<Target> {
    mustHold(caller, "action.target.read");
    const target = await this.store.getTarget(id);
    if (!target) throw targetNotFound("QUERY-hj5oaniyrz");
    return target;
  }

  async listTargets(query: TargetListQuery, caller: Principal): Promise<{ total: number; targets: Target[] }> {
    mustHold(caller, "action.target.read");
    return this.store.listTargets(query);
  }

  /**
   * Gives the condition's execution these targets, in call order; none removes it. Answers the
   * set date: the stored change date when the targets are those it has, undefined when there is
   * no execution and none was asked for.
   */
  async setExecution(condition: EventCondition, targetIds: string[], caller: Principal): Promise<Date | undefined> {
    mustHold(caller, "action.execution.write");
    checkEventCondition(condition);
    const id = conditionId(condition);
    const existing = await this.execution(id);
    if (sameTargets(existing?.targetIds ?? [], targetIds)) return existing?.changedAt;
    const at = this.now();
    if (!(await this.store.setExecution(id, targetIds, at))) throw targetNotFound("COMMAND-17e8fq1ggk");
    return at;
  }

  async listExecutions(query: ExecutionListQuery, caller: Principal): Promise<{ total: number; executions: Execution[] }> {
    mustHold(caller, "action.execution.read");
    return this.store.listExecutions(query);
  }

  /**
   * The targets an event of this type goes to, in call order: as ZITADEL, those of the most
   * specific execution that matches it (its type, else the nearest group above it, else all).
   */
  async targetsForEvent(eventType: string): Promise<Target[]> {
    return (await this.targetsForEvents([eventType])).get(eventType)!;
  }

  /** targetsForEvent for several event types, read in one query. */
  async targetsForEvents(eventTypes: readonly string[]): Promise<Map<string, Target[]>> {
    const idsOf = new Map(eventTypes.map((type) => [type, conditionIdsFor(type)]));
    const found = await this.store.executionTargets([...new Set([...idsOf.values()].flat())]);
    const targetsOf = new Map(found.map((execution) => [execution.conditionId, execution.targets]));
    const matches = new Map<string, Target[]>();
    for (const [type, ids] of idsOf) matches.set(type, targetsOf.get(ids.find((id) => targetsOf.has(id)) ?? "") ?? []);
    return matches;
  }

  private async execution(id: string): Promise<Execution | undefined> {
    const page = { filters: [{ kind: "conditions" as const, conditionIds: [id] }], sort: "id" as const, asc: true, offset: 0, limit: 1 };
    return (await this.store.listExecutions(page)).executions[0];
  }
}

/** Checked after the request's validation (SPEC §6's order) and before anything is read; for what belongs to the instance. */
export function mustHold(caller: Principal, permission: Permission): void {
  if (!hasInstancePermission(caller, permission)) throw permissionDenied();
}

async function nameMustBeFree<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (err instanceof ConflictError && err.reason === "targetName") throw targetNameTaken();
    throw err;
  }
}

const sameTargets = (a: string[], b: string[]) => a.length === b.length && a.every((id, i) => id === b[i]);
