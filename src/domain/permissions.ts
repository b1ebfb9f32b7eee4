/** Roles, the permissions they grant, and who may see or change which user. */

/**
 * ZITADEL's roles, and two of our own for the OpenID Shared Signals transmitter (EXTENSIONS.md
 * §4): SSF_RECEIVER for a receiver that manages its stream, SSF_READER for reading every stream.
 */
export const ROLES = ["IAM_OWNER", "IAM_LOGIN_CLIENT", "ORG_OWNER", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER", "SSF_RECEIVER", "SSF_READER"] as const;
export type Role = (typeof ROLES)[number];

/**
 * `ssf.manage`: create a stream (one per caller) and read and change the caller's own;
 * `ssf.read`: read every stream. The names are the CAEP interoperability profile's scopes.
 * `delivery.read` and `delivery.retry`: read the outbox's state and retry parked deliveries.
 */
export type Permission =
  | "user.read"
  | "user.write"
  | "user.delete"
  | "session.read"
  | "session.write"
  | "session.delete"
  | "action.target.read"
  | "action.target.write"
  | "action.target.delete"
  | "action.execution.read"
  | "action.execution.write"
  | "ssf.read"
  | "ssf.manage"
  | "delivery.read"
  | "delivery.retry";

const SESSION_PERMISSIONS: Permission[] = ["session.read", "session.write", "session.delete"];
/** Actions v2 (EXTENSIONS.md §3): instance-wide, as ZITADEL's targets and executions are. */
const ACTION_PERMISSIONS: Permission[] = ["action.target.read", "action.target.write", "action.target.delete", "action.execution.read", "action.execution.write"];

const PERMISSIONS_OF: Record<Role, readonly Permission[]> = {
  IAM_OWNER: ["user.read", "user.write", "user.delete", ...SESSION_PERMISSIONS, ...ACTION_PERMISSIONS, "ssf.read", "ssf.manage", "delivery.read", "delivery.retry"],
  IAM_LOGIN_CLIENT: SESSION_PERMISSIONS,
  ORG_OWNER: ["user.read", "user.write", "user.delete"],
  ORG_USER_MANAGER: ["user.read", "user.write"],
  ORG_OWNER_VIEWER: ["user.read"],
  SSF_RECEIVER: ["ssf.manage"],
  SSF_READER: ["ssf.read"],
};

const INSTANCE_ROLES: ReadonlySet<Role> = new Set<Role>(["IAM_OWNER", "IAM_LOGIN_CLIENT", "SSF_RECEIVER", "SSF_READER"]);

/** IAM_* and SSF_* roles hold their permissions on every organization; the others on one. */
export const isInstanceRole = (role: Role) => INSTANCE_ROLES.has(role);

export interface RoleGrant {
  role: Role;
  /** The organization the role applies to; null for an instance-wide role. */
  orgId: string | null;
}

/** The authenticated caller. */
export interface Principal {
  userId: string;
  orgId: string;
  grants: readonly RoleGrant[];
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function hasPermission(principal: Principal, permission: Permission, orgId: string): boolean {
  return principal.grants.some(
    (grant) => (grant.orgId === null || grant.orgId === orgId) && PERMISSIONS_OF[grant.role].includes(permission),
  );
}

/** For what belongs to the instance, not to an organization: only an instance-wide grant counts. */
export function hasInstancePermission(principal: Principal, permission: Permission): boolean {
  return principal.grants.some((grant) => grant.orgId === null && PERMISSIONS_OF[grant.role].includes(permission));
}

/** The organizations whose users the caller may read: every one, or a list. */
export function readableOrgs(principal: Principal): "all" | string[] {
  const orgs = new Set<string>();
  for (const grant of principal.grants) {
    if (!PERMISSIONS_OF[grant.role].includes("user.read")) continue;
    if (grant.orgId === null) return "all";
    orgs.add(grant.orgId);
  }
  return [...orgs];
}

/** A caller may always read itself. */
export function canRead(principal: Principal, user: { id: string; orgId: string }): boolean {
  return principal.userId === user.id || hasPermission(principal, "user.read", user.orgId);
}
