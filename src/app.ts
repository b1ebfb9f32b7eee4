/**
 * The one place that joins the domain and the store: load → decide → append + project.
 * Every method takes the authenticated caller and returns domain values.
 */
import { checkAddHuman, humanAdded, organizationNotFound, type NewHuman } from "./domain/add-human.js";
import { DomainError } from "./domain/errors.js";
import { applyEvent, type RecordedUserEvent, type UserEvent } from "./domain/events.js";
import { canRead, isInstanceRole, readableOrgs, type Principal, type Role } from "./domain/permissions.js";
import { decideStateChange, type StateCommand } from "./domain/state-commands.js";
import { userState, type User } from "./domain/user.js";
import type { UserFilter, UserSortField } from "./domain/user-query.js";
import { newId } from "./security/ids.js";
import { hashPassword } from "./security/passwords.js";
import { hashToken, newToken } from "./security/tokens.js";
import { ConflictError, type Organization, type Store, type UserCommit } from "./store/store.js";

/** What a change reports back: ZITADEL's object.v2.Details. */
export interface ChangeDetails {
  sequence: number;
  changeDate: Date;
  resourceOwner: string;
}

export interface ListUsersInput {
  filters: UserFilter[];
  sort: UserSortField;
  asc: boolean;
  offset: number;
  limit: number;
}

/** The id of the system itself as the actor of events it records on its own. */
export const SYSTEM_ACTOR = "SYSTEM";

const MAX_ATTEMPTS = 20;

export class UserApp {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Resolves a bearer token to its owner, who must be an active user. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new DomainError("Unauthenticated", undefined, "auth header missing");
    const match = /^Bearer (\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new DomainError("Unauthenticated", "AUTH-7fs1e", "invalid auth header");
    const owner = await this.store.findTokenOwner(hashToken(match[1]));
    if (!owner || userState(owner.user.flags) !== "active") {
      throw new DomainError("Unauthenticated", "AUTH-7fs1e", "Token is invalid");
    }
    return { userId: owner.user.id, orgId: owner.user.orgId, grants: owner.grants };
  }

  /** Lock, unlock, deactivate, reactivate or delete; retried when another change to the user won a race. */
  async changeState(command: StateCommand, userId: string, caller: Principal): Promise<ChangeDetails> {
    for (let attempt = 1; ; attempt++) {
      const user = await this.store.getUser(userId);
      const event = decideStateChange(command, user, caller);
      try {
        return await this.commit(user!, [event], caller.userId);
      } catch (err) {
        if (!(err instanceof ConflictError && err.reason === "sequence") || attempt === MAX_ATTEMPTS) throw err;
      }
    }
  }

  async addHuman(
    input: Omit<NewHuman, "passwordHash"> & { userId?: string; password?: string },
    caller: Principal,
  ): Promise<{ userId: string; details: ChangeDetails }> {
    checkAddHuman(input, caller);
    if (!(await this.store.getOrganization(input.orgId))) throw organizationNotFound();
    const passwordHash = input.password === undefined ? undefined : await hashPassword(input.password);
    const userId = input.userId ?? newId();
    try {
      const details = await this.commit(undefined, [humanAdded({ ...input, passwordHash })], caller.userId, userId);
      return { userId, details };
    } catch (err) {
      if (err instanceof ConflictError && err.reason === "userId")
        throw new DomainError("AlreadyExists", "COMMAND-7yiox1isql", "User already exists");
      if (err instanceof ConflictError && err.reason === "username")
        throw new DomainError("AlreadyExists", "V3-DKcYh", "User already exists");
      throw err;
    }
  }

  async getUser(userId: string, caller: Principal): Promise<User> {
    const user = await this.store.getUser(userId);
    if (!user || user.flags.removed || !canRead(caller, user)) {
      throw new DomainError("NotFound", "QUERY-Dfbg2", "User could not be found");
    }
    return user;
  }

  listUsers(input: ListUsersInput, caller: Principal): Promise<{ total: number; users: User[] }> {
    return this.store.listUsers({ ...input, visibleOrgs: readableOrgs(caller), callerId: caller.userId });
  }

  /** Administration (CLI and first start): not reachable through the API. */
  async addOrganization(name: string): Promise<Organization> {
    const org = { id: newId(), name, createdAt: this.now() };
    await this.store.addOrganization(org);
    return org;
  }

  async addMachineUser(orgId: string, username: string, role: Role): Promise<{ userId: string; token: string }> {
    if (!(await this.store.getOrganization(orgId))) throw organizationNotFound();
    const { commit, token } = this.newMachineUser(orgId, username, role);
    try {
      await this.store.commitUser(commit);
    } catch (err) {
      if (err instanceof ConflictError) throw new DomainError("AlreadyExists", "V3-DKcYh", "User already exists");
      throw err;
    }
    return { userId: commit.user.id, token };
  }

  /** On an empty database: the first organization and its IAM_OWNER machine user. Returns its token, or undefined if already set up. */
  async initialize(orgName: string, adminUsername: string): Promise<string | undefined> {
    const org = { id: newId(), name: orgName, createdAt: this.now() };
    const { commit, token } = this.newMachineUser(org.id, adminUsername, "IAM_OWNER");
    return (await this.store.initialize(org, commit)) ? token : undefined;
  }

  /** A machine user with one role and an access token; the token is returned only here. */
  private newMachineUser(orgId: string, username: string, role: Role): { commit: UserCommit; token: string } {
    const added: UserEvent = {
      type: "user.machine.added",
      payload: { orgId, username, machine: { name: username, description: "" } },
    };
    const token = newToken();
    const commit = this.prepare(undefined, [added], SYSTEM_ACTOR, newId());
    commit.grants = [{ role, orgId: isInstanceRole(role) ? null : orgId }];
    commit.tokenHash = hashToken(token);
    return { commit, token };
  }

  /** Records the events with their sequence, time and actor, and folds them into the user. */
  private prepare(user: User | undefined, events: UserEvent[], actor: string, newUserId?: string): UserCommit {
    const createdAt = this.now();
    const userId = user?.id ?? newUserId!;
    const base = user?.sequence ?? 0;
    const recorded: RecordedUserEvent[] = events.map((event, i) => ({
      ...event,
      userId,
      sequence: base + i + 1,
      actor,
      createdAt,
    }));
    return { expectedSequence: base, events: recorded, user: recorded.reduce<User | undefined>(applyEvent, user)! };
  }

  private async commit(
    user: User | undefined,
    events: UserEvent[],
    actor: string,
    newUserId?: string,
  ): Promise<ChangeDetails> {
    const commit = this.prepare(user, events, actor, newUserId);
    await this.store.commitUser(commit);
    const next = commit.user;
    return { sequence: next.sequence, changeDate: next.changedAt, resourceOwner: next.orgId };
  }
}
