/**
 * Bulk lock and unlock (zus.user.v1 BulkLockUsers / BulkUnlockUsers): the calls, and their
 * per-user answer as a table, worded for a dry run ("would be locked") or for the real run.
 */
import { Code } from "@connectrpc/connect";
import type { BulkChangeUsersResponse } from "../../gen/zus/user/v1/user_record_service_pb.js";
import type { RecordClient } from "./api.js";
import { h } from "./dom.js";
import { lockRequestFields, type LockInput } from "./lock-fields.js";
import type { SelectedUser } from "./selection.js";
import { countUsers } from "./user-fields.js";

export interface BulkKind {
  verb: "Lock" | "Unlock";
  /** Past tense: "locked". */
  done: string;
  consequence: string;
  takesLockInput: boolean;
  run(records: RecordClient, userIds: string[], lock: LockInput, dryRun: boolean): Promise<BulkChangeUsersResponse>;
}

export const BULK_LOCK: BulkKind = {
  verb: "Lock",
  done: "locked",
  consequence: "Each user is locked on its own, with the same reason and end; a locked user cannot sign in until it is unlocked.",
  takesLockInput: true,
  run: (records, userIds, lock, dryRun) => records.bulkLockUsers({ userIds, ...lockRequestFields(lock), dryRun }),
};

export const BULK_UNLOCK: BulkKind = {
  verb: "Unlock",
  done: "unlocked",
  consequence: "Each user is unlocked on its own and can sign in again.",
  takesLockInput: false,
  run: (records, userIds, _lock, dryRun) => records.bulkUnlockUsers({ userIds, dryRun }),
};

export interface BulkTally {
  succeeded: number;
  failed: number;
}

/** The answer's rows (one per user, usernames from the selection) and its tally. */
export function resultRows(kind: BulkKind, answer: BulkChangeUsersResponse, users: readonly SelectedUser[], dryRun: boolean) {
  const names = new Map(users.map((user) => [user.id, user.username]));
  const tally: BulkTally = { succeeded: 0, failed: 0 };
  const rows = answer.results.map(({ userId, outcome }) => {
    const user = h("th", { scope: "row" }, names.get(userId) ?? userId);
    if (outcome.case === "error") {
      tally.failed++;
      const { code, message, id } = outcome.value;
      return h("tr", { className: "failed" }, user, h("td", {}, `${dryRun ? "Would fail" : "Failed"}: ${Code[code] ?? code}, ${message}`), h("td", {}, h("code", {}, id)));
    }
    tally.succeeded++;
    return h("tr", {}, user, h("td", {}, dryRun ? `Would be ${kind.done}` : kind.done.replace(/^./, (c) => c.toUpperCase())), h("td"));
  });
  return { rows, tally };
}

export function tallyText(kind: BulkKind, { succeeded, failed }: BulkTally, dryRun: boolean): string {
  const done = dryRun ? `${countUsers(succeeded)} would be ${kind.done}` : `${countUsers(succeeded)} ${kind.done}`;
  return failed === 0 ? `${done}.` : `${done}, ${failed} ${dryRun ? "would fail" : "failed"}.`;
}
