/** zitadel.action.v2.ActionService (EXTENSIONS.md §3): convert and check the request, call the app, convert the answer. */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import type { ActionsApp } from "../app/actions.js";
import { invalidArgument } from "../domain/errors.js";
import { endpoint, eventCondition, executionTargetIds, payloadType, requireTargetId, requireTargetName, rotatesSigningKey, targetKind, timeoutMs, toProtoExecution, toProtoTarget } from "./action-proto.js";
import { executionListQuery, targetListQuery } from "./action-list-proto.js";
import { callerOf } from "./caller.js";

const pagination = (total: number, limit: number) => ({ totalResult: BigInt(total), appliedLimit: BigInt(limit) });

export function actionService(app: ActionsApp): ServiceImpl<typeof ActionService> {
  return {
    async createTarget(req, ctx) {
      const message = "CreateTargetRequest";
      const name = requireTargetName(req.name, message);
      const timeout = timeoutMs(req.timeout, message);
      const url = endpoint(req.endpoint, message, app.outbound);
      const payload = payloadType(req.payloadType, message);
      const kind = targetKind(req.targetType, message);
      if (!kind) throw invalidArgument(`invalid ${message}.TargetType: value is required`);
      const target = await app.createTarget({ name, ...kind, endpoint: url, timeoutMs: timeout, payloadType: payload }, callerOf(ctx));
      return { id: target.id, creationDate: timestampFromDate(target.createdAt), signingKey: target.signingKey.reveal() };
    },

    async updateTarget(req, ctx) {
      const message = "UpdateTargetRequest";
      const id = requireTargetId(req.id, message);
      const changes = {
        name: req.name === undefined ? undefined : requireTargetName(req.name, message),
        timeoutMs: req.timeout === undefined ? undefined : timeoutMs(req.timeout, message),
        endpoint: req.endpoint === undefined ? undefined : endpoint(req.endpoint, message, app.outbound),
        rotateSigningKey: rotatesSigningKey(req.expirationSigningKey),
        payloadType: payloadType(req.payloadType, message),
        kind: targetKind(req.targetType, message),
      };
      const { changedAt, signingKey } = await app.updateTarget(id, changes, callerOf(ctx));
      return { changeDate: timestampFromDate(changedAt), signingKey: signingKey?.reveal() };
    },

    async deleteTarget(req, ctx) {
      const deletedAt = await app.deleteTarget(requireTargetId(req.id, "DeleteTargetRequest"), callerOf(ctx));
      return { deletionDate: deletedAt && timestampFromDate(deletedAt) };
    },

    async getTarget(req, ctx) {
      return { target: toProtoTarget(await app.getTarget(requireTargetId(req.id, "GetTargetRequest"), callerOf(ctx))) };
    },

    async listTargets(req, ctx) {
      const query = targetListQuery(req);
      const { total, targets } = await app.listTargets(query, callerOf(ctx));
      return { pagination: pagination(total, query.limit), targets: targets.map(toProtoTarget) };
    },

    async setExecution(req, ctx) {
      const condition = eventCondition(req.condition);
      const setAt = await app.setExecution(condition, executionTargetIds(req.targets), callerOf(ctx));
      return { setDate: setAt && timestampFromDate(setAt) };
    },

    async listExecutions(req, ctx) {
      const query = executionListQuery(req);
      const { total, executions } = await app.listExecutions(query, callerOf(ctx));
      return { pagination: pagination(total, query.limit), executions: executions.map(toProtoExecution) };
    },
  };
}
