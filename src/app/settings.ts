/** Lockout settings: read through the settings service, set by the admin CLI. */
import { organizationNotFound } from "../domain/add-human.js";
import { DEFAULT_LOCKOUT, type LockoutPolicy, type PolicyScope } from "../domain/lockout.js";
import { hasPermission, type Principal } from "../domain/permissions.js";
import { permissionDenied } from "../domain/state-commands.js";
import type { OrganizationStore, SettingsStore, StoredLockoutPolicy } from "../store/store.js";

export class SettingsApp {
  constructor(
    private readonly store: SettingsStore & Pick<OrganizationStore, "getOrganization">,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The policy in force for an organization (its own, else the instance default) or for the
   * instance. Without a scope, the caller's organization. An organization's settings are for
   * its members, its readers and instance-wide roles.
   */
  async lockout(scope: PolicyScope | undefined, caller: Principal): Promise<StoredLockoutPolicy> {
    const resolved = scope ?? { org: caller.orgId };
    if (resolved !== "instance") {
      const mayRead = resolved.org === caller.orgId || hasPermission(caller, "user.read", resolved.org);
      if (!mayRead && !caller.grants.some((grant) => grant.orgId === null)) throw permissionDenied();
      if (!(await this.store.getOrganization(resolved.org))) throw organizationNotFound();
    }
    const policy = await this.store.getLockoutPolicy(resolved === "instance" ? undefined : resolved.org);
    return policy ?? { scope: "instance", ...DEFAULT_LOCKOUT };
  }

  async setLockout(scope: PolicyScope, policy: LockoutPolicy): Promise<void> {
    if (scope !== "instance" && !(await this.store.getOrganization(scope.org))) throw organizationNotFound();
    await this.store.setLockoutPolicy(scope, policy, this.now());
  }
}
