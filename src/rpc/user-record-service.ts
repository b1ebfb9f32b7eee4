/** zus.user.v1.UserRecordService (EXTENSIONS.md §1): convert the request, call the app, convert the answer. */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { UserRecordService } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { invalidArgument } from "../domain/errors.js";
import type { UserApp } from "../app/user-app.js";
import type { Watching } from "../app/watch.js";
import { bulkMethods } from "./bulk-service.js";
import { callerOf } from "./caller.js";
import { requireLength } from "./from-proto.js";
import { changeDetails } from "./to-proto.js";
import { lockInput, PROTO_CAUSE, toProtoEvent } from "./user-record-proto.js";
import { watchUserEvents } from "./watch-user-events.js";

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;
/** A page token names the sequence the next page starts below; opaque to clients. */
const TOKEN = /^before:([1-9][0-9]{0,14})$/;
const MAX_SEQUENCE = 2 ** 31 - 1;

export function userRecordService(app: UserApp, watching: Watching): ServiceImpl<typeof UserRecordService> {
  return {
    async lockUser(req, ctx) {
      const userId = requireLength(req.userId, "LockUserRequest", "UserId", 1, 200);
      return { details: changeDetails(await app.lockWithRecord(userId, callerOf(ctx), lockInput(req, "LockUserRequest"))) };
    },

    async getLockStatus(req, ctx) {
      const userId = requireLength(req.userId, "GetLockStatusRequest", "UserId", 1, 200);
      const status = await app.lockStatus(userId, callerOf(ctx));
      if (!status.locked) return { locked: false, failedPasswordAttempts: status.failedPasswordAttempts };
      return {
        locked: true,
        failedPasswordAttempts: status.failedPasswordAttempts,
        since: timestampFromDate(status.since),
        actor: status.actor,
        cause: PROTO_CAUSE[status.cause],
        reason: status.reason,
        expiresAt: status.expiresAt && timestampFromDate(status.expiresAt),
      };
    },

    async listUserEvents(req, ctx) {
      const userId = requireLength(req.userId, "ListUserEventsRequest", "UserId", 1, 200);
      if (req.pageSize > MAX_PAGE_SIZE) {
        throw invalidArgument(`invalid ListUserEventsRequest.PageSize: value must be less than or equal to ${MAX_PAGE_SIZE}`);
      }
      const page = { before: readPageToken(req.pageToken), limit: req.pageSize || DEFAULT_PAGE_SIZE };
      const history = await app.history(userId, callerOf(ctx), page);
      return {
        events: history.events.map((event) => toProtoEvent(event, history.orgId)),
        nextPageToken: history.nextBefore === undefined ? "" : pageToken(history.nextBefore),
        position: watching.formatPosition(history.position),
      };
    },

    watchUserEvents: (req, ctx) => watchUserEvents(watching, req, ctx),

    ...bulkMethods(app),
  };
}

const pageToken = (before: number) => Buffer.from(`before:${before}`).toString("base64url");

function readPageToken(token: string): number | undefined {
  if (token === "") return undefined;
  const before = TOKEN.exec(Buffer.from(token, "base64url").toString("latin1"))?.[1];
  if (before === undefined) throw invalidArgument("invalid ListUserEventsRequest.PageToken: not a page token this server gave");
  // Sequences are 32-bit in the stores: a larger bound is the same as the largest.
  return Math.min(Number(before), MAX_SEQUENCE);
}
