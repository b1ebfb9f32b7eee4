/** zitadel.settings.v2.SettingsService: only GetLockoutSettings. */
import type { ServiceImpl } from "@connectrpc/connect";
import { ResourceOwnerType } from "../../gen/zitadel/settings/v2/settings_pb.js";
import { SettingsService } from "../../gen/zitadel/settings/v2/settings_service_pb.js";
import { invalidArgument } from "../domain/errors.js";
import type { PolicyScope } from "../domain/lockout.js";
import type { SettingsApp } from "../app/settings.js";
import { callerOf } from "./caller.js";
import { requireLength } from "./from-proto.js";

export function settingsService(settings: SettingsApp): ServiceImpl<typeof SettingsService> {
  return {
    async getLockoutSettings(req, ctx) {
      const owner = req.ctx?.resourceOwner;
      let scope: PolicyScope | undefined;
      if (owner?.case === "orgId") scope = { org: requireLength(owner.value, "RequestContext", "OrgId", 1, 200) };
      else if (owner?.case === "instance") {
        if (!owner.value) throw invalidArgument("invalid RequestContext.Instance: value must equal true");
        scope = "instance";
      }
      const policy = await settings.lockout(scope, callerOf(ctx));
      return {
        details: { resourceOwner: policy.scope === "instance" ? "" : policy.scope.org },
        settings: {
          maxPasswordAttempts: BigInt(policy.maxPasswordAttempts),
          maxOtpAttempts: BigInt(policy.maxOtpAttempts),
          resourceOwnerType: policy.scope === "instance" ? ResourceOwnerType.INSTANCE : ResourceOwnerType.ORG,
        },
      };
    },
  };
}
