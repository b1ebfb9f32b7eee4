/** zitadel.user.v2.UserService: convert the request, call the app, convert the answer. */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { UserApp } from "../app/user-app.js";
import type { StateCommand } from "../domain/state-commands.js";
import { callerOf } from "./caller.js";
import { addHumanInput, listUsersInput, requireLength } from "./from-proto.js";
import { changeDetails, toProtoUser, userDetails } from "./to-proto.js";


export function userService(app: UserApp): ServiceImpl<typeof UserService> {
  const stateChange =
    (command: StateCommand, requestName: string) =>
    async (req: { userId: string }, ctx: HandlerContext) => {
      const userId = requireLength(req.userId, requestName, "UserId", 1, 200);
      return { details: changeDetails(await app.changeState(command, userId, callerOf(ctx))) };
    };

  return {
    lockUser: stateChange("lock", "LockUserRequest"),
    unlockUser: stateChange("unlock", "UnlockUserRequest"),
    deactivateUser: stateChange("deactivate", "DeactivateUserRequest"),
    reactivateUser: stateChange("reactivate", "ReactivateUserRequest"),
    deleteUser: stateChange("delete", "DeleteUserRequest"),

    async addHumanUser(req, ctx) {
      const caller = callerOf(ctx);
      const { userId, details } = await app.addHuman(addHumanInput(req, caller), caller);
      return { userId, details: changeDetails(details) };
    },

    async getUserByID(req, ctx) {
      const userId = requireLength(req.userId, "GetUserByIDRequest", "UserId", 1, 200);
      const user = await app.getUser(userId, callerOf(ctx));
      return { details: userDetails(user), user: toProtoUser(user) };
    },

    async listUsers(req, ctx) {
      const input = listUsersInput(req.query, req.sortingColumn, req.queries);
      const { total, users } = await app.listUsers(input, callerOf(ctx));
      return {
        details: { totalResult: BigInt(total), timestamp: timestampNow() },
        sortingColumn: req.sortingColumn,
        result: users.map(toProtoUser),
      };
    },
  };
}
