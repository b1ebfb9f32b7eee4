/**
 * zus.user.v1 BulkLockUsers and BulkUnlockUsers, part of UserRecordService: the request is
 * checked as a whole (the selection, the reason; the end in the app), then every user gets the
 * answer its single call would have had (app/bulk.ts).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ListUsersRequest } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { BulkChangeUsersResponseSchema, UserRecordService } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { BulkChanges, type BulkOutcome, type BulkSelection } from "../app/bulk.js";
import type { UserApp } from "../app/user-app.js";
import { invalidArgument } from "../domain/errors.js";
import { callerOf } from "./caller.js";
import { codeOf } from "./errors.js";
import { listUsersInput, requireLength } from "./from-proto.js";
import { changeDetails } from "./to-proto.js";
import { lockInput } from "./user-record-proto.js";

const MAX_USER_IDS = 1000;

export function bulkMethods(app: UserApp): Pick<ServiceImpl<typeof UserRecordService>, "bulkLockUsers" | "bulkUnlockUsers"> {
  const bulk = new BulkChanges(app);
  return {
    async bulkLockUsers(req, ctx) {
      const selection = bulkSelection(req, "BulkLockUsersRequest");
      const outcomes = await bulk.lock(selection, callerOf(ctx), lockInput(req, "BulkLockUsersRequest"), { dryRun: req.dryRun });
      return bulkResponse(outcomes, req.dryRun);
    },

    async bulkUnlockUsers(req, ctx) {
      const selection = bulkSelection(req, "BulkUnlockUsersRequest");
      return bulkResponse(await bulk.unlock(selection, callerOf(ctx), { dryRun: req.dryRun }), req.dryRun);
    },
  };
}

/** Either up to 1000 distinct ids, each as a single call checks its user_id, or a ListUsers request. */
function bulkSelection(req: { userIds: string[]; query?: ListUsersRequest }, message: string): BulkSelection {
  const { userIds, query } = req;
  if (query && userIds.length) throw invalidArgument(`invalid ${message}.Query: give either user_ids or a query, not both`);
  if (query) return { query: listUsersInput(query.query, query.sortingColumn, query.queries) };
  if (!userIds.length) throw invalidArgument(`invalid ${message}.UserIds: give either user_ids or a query`);
  if (userIds.length > MAX_USER_IDS) {
    throw invalidArgument(`invalid ${message}.UserIds: value must contain no more than ${MAX_USER_IDS} item(s)`);
  }
  const seen = new Set<string>();
  userIds.forEach((userId, i) => {
    requireLength(userId, message, `UserIds[${i}]`, 1, 200);
    if (seen.has(userId)) throw invalidArgument(`invalid ${message}.UserIds[${i}]: repeated value must contain unique items`);
    seen.add(userId);
  });
  return { userIds };
}

/**
 * A failed user's code, ZITADEL's error id and text, as its single call's status and ErrorDetail
 * carry them. A dry run's details have the sequence and organization the change would have, and
 * no date: nothing changed.
 */
function bulkResponse(outcomes: BulkOutcome[], dryRun: boolean): MessageInitShape<typeof BulkChangeUsersResponseSchema> {
  return {
    results: outcomes.map((outcome) => {
      const { userId } = outcome;
      if ("error" in outcome) {
        const { kind, id = "", text } = outcome.error;
        return { userId, outcome: { case: "error", value: { code: codeOf(kind), id, message: text } } };
      }
      const { details } = outcome;
      const value = dryRun ? { sequence: BigInt(details.sequence), resourceOwner: details.resourceOwner } : changeDetails(details);
      return { userId, outcome: { case: "details", value } };
    }),
  };
}
