/** Conversion between Actions v2 targets and executions and their rows (the same columns in every dialect). */
import { conditionOf, type Execution, type PayloadType, type Target, type TargetType } from "../domain/actions.js";
import { Secret } from "../domain/secret.js";

export interface TargetRow {
  id: string;
  name: string;
  nameLower: string;
  type: TargetType;
  interruptOnError: boolean;
  endpoint: string;
  timeoutMs: number;
  payloadType: PayloadType;
  signingKey: string;
  createdAt: Date;
  changedAt: Date;
}

export function toTargetRow(target: Target): TargetRow {
  return { ...target, nameLower: target.name.toLowerCase(), signingKey: target.signingKey.reveal() };
}

export function fromTargetRow({ nameLower: _, signingKey, ...row }: TargetRow): Target {
  return { ...row, signingKey: new Secret(signingKey) };
}

/** One execution as listed: its condition and dates (all its rows have the same). */
export interface ExecutionHead {
  conditionId: string;
  createdAt: Date;
  changedAt: Date;
}

/** The executions of `heads`, in their order, each with its targets from `rows` (read in call order). */
export function toExecutions(heads: ExecutionHead[], rows: { conditionId: string; targetId: string }[]): Execution[] {
  const targetsOf = new Map<string, string[]>(heads.map((head) => [head.conditionId, []]));
  for (const { conditionId, targetId } of rows) targetsOf.get(conditionId)?.push(targetId);
  return heads.map(({ conditionId, createdAt, changedAt }) => ({
    condition: conditionOf(conditionId),
    targetIds: targetsOf.get(conditionId)!,
    createdAt,
    changedAt,
  }));
}

/** Rows of (condition, target) in call order, grouped by condition in order of first appearance. */
export function targetsByCondition(rows: { conditionId: string; target: TargetRow }[]): { conditionId: string; targets: Target[] }[] {
  const byCondition = new Map<string, Target[]>();
  for (const { conditionId, target } of rows) {
    const targets = byCondition.get(conditionId) ?? [];
    targets.push(fromTargetRow(target));
    byCondition.set(conditionId, targets);
  }
  return [...byCondition].map(([conditionId, targets]) => ({ conditionId, targets }));
}

/** The rows that give an execution its targets, numbered in call order. */
export function executionRows(conditionId: string, targetIds: string[], createdAt: Date, changedAt: Date) {
  return targetIds.map((targetId, position) => ({ conditionId, position, targetId, createdAt, changedAt }));
}
