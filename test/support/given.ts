/**
 * App-level tests written as given events / when command / then events or error:
 *
 *   const then = await given(humanAdded(), lockout(3), passwordFailed(), passwordFailed()).when(signIn(WRONG));
 *   then.error("InvalidArgument", "COMMAND-3M0fs", { failedAttempts: 3 });
 *   then.events(passwordFailed(), lockedByPolicy());
 *
 * The apps run on the real SQLite store in memory, with a clock that moves only when told.
 * "Given" writes its events straight to the store; "then events" is every event the command
 * appended (through Store.commitUser), in order, with its user, type, payload and actor.
 */
import { randomBytes, scryptSync } from "node:crypto";
import { expect, onTestFinished } from "vitest";
import { UserApp } from "../../src/app/user-app.js";
import { DomainError, type ErrorKind } from "../../src/domain/errors.js";
import { SYSTEM_ACTOR, type UserEvent } from "../../src/domain/events.js";
import type { Principal } from "../../src/domain/permissions.js";
import { SettingsApp } from "../../src/app/settings.js";
import { SignInApp, type SessionChecks } from "../../src/app/sign-in.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store, UserCommit } from "../../src/store/store.js";
import { UserEvents } from "../../src/app/user-events.js";

export const ORG = "100000000000000001";
export const OTHER_ORG = "100000000000000002";
/** The user the events and commands are about, unless they name another. */
export const USER = "200000000000000001";
export const OTHER_USER = "200000000000000002";
export const ADMIN: Principal = { userId: "300000000000000001", orgId: ORG, grants: [{ role: "IAM_OWNER", orgId: null }] };
export const OTHER_ADMIN: Principal = { ...ADMIN, userId: "300000000000000002" };
/** The login UI's machine user, which makes the password checks. */
export const LOGIN: Principal = { userId: "300000000000000003", orgId: ORG, grants: [{ role: "IAM_LOGIN_CLIENT", orgId: null }] };
export const SYSTEM = SYSTEM_ACTOR;

export const PASSWORD = "Secr3t-Passw0rd!";
export const WRONG = "not-the-Passw0rd!";
// The app's own format with the cheapest scrypt parameters, so a password check takes microseconds.
const salt = randomBytes(16);
const PASSWORD_HASH = `$scrypt$N=16,r=1,p=1$${salt.toString("base64")}$${scryptSync(PASSWORD, salt, 32, { N: 16, r: 1, p: 1 }).toString("base64")}`;

/** When the clock starts; `at(s)` is s seconds later, as an event payload writes it. */
export const T0 = Date.parse("2030-01-01T00:00:00.000Z");
export const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** A clock that stands still until the test moves it. */
export class TestClock {
  constructor(private current: number) {}

  now = (): Date => new Date(this.current);

  advance(seconds: number): void {
    this.current += seconds * 1000;
  }
}

/** What a test can reach: the three apps, the clock, and the sessions the given steps opened. */
export interface World {
  users: UserApp;
  signIn: SignInApp;
  settings: SettingsApp;
  clock: TestClock;
  /** Ids of the sessions opened by `sessionOpened()`, in order. */
  sessions: string[];
}

/** An event of one user, by one actor: a given step, or one the test expects. */
export type UserFact = UserEvent & { userId: string; actor: string };
/** Anything else the world needs first: a policy, a session, time passing, a concurrent change. */
type Step = (world: World, recorder: Recorder) => Promise<void>;
type Given = UserFact | Step;

interface Whose {
  /** The user; USER by default. */
  of?: string;
  /** The actor; each event has its usual one by default. */
  by?: Principal | string;
}

const fact = (event: UserEvent, usualActor: Principal | string, whose: Whose = {}): UserFact => {
  const actor = whose.by ?? usualActor;
  return { ...event, userId: whose.of ?? USER, actor: typeof actor === "string" ? actor : actor.userId };
};

// ---- events -------------------------------------------------------------------------------

/** A human with the password PASSWORD (ACTIVE), or without one (INITIAL). */
export function humanAdded(options: { id?: string; org?: string; username?: string; password?: boolean } = {}): UserFact {
  const id = options.id ?? USER;
  const human = {
    profile: { givenName: "Gigi", familyName: "Giraffe" },
    email: `gigi-${id}@example.com`,
    emailVerified: true,
    passwordHash: options.password === false ? undefined : PASSWORD_HASH,
    passwordChangeRequired: false,
  };
  return fact({ type: "user.human.added", payload: { orgId: options.org ?? ORG, username: options.username ?? `gigi-${id}`, human } }, ADMIN, { of: id });
}

export const locked = (whose?: Whose) => fact({ type: "user.locked" }, ADMIN, whose);
/** The lockout policy's lock, made by the sign-in whose wrong password reached the maximum. */
export const lockedByPolicy = (options: Whose & { until?: string } = {}) =>
  fact({ type: "user.locked", payload: { cause: "policy", expiresAt: options.until } }, LOGIN, options);
/** Our own lock call's lock (zus.user.v1 LockUser): an administrator's, with a reason and maybe an end. */
export const lockedWithRecord = (options: Whose & { reason?: string; until?: string } = {}) =>
  fact({ type: "user.locked", payload: { cause: "admin", reason: options.reason, expiresAt: options.until } }, ADMIN, options);
export const unlocked = (whose?: Whose) => fact({ type: "user.unlocked" }, ADMIN, whose);
export const deactivated = (whose?: Whose) => fact({ type: "user.deactivated" }, ADMIN, whose);
export const removed = (whose?: Whose) => fact({ type: "user.removed" }, ADMIN, whose);
export const passwordFailed = (whose?: Whose) => fact({ type: "user.human.password.check.failed" }, LOGIN, whose);
export const passwordSucceeded = (whose?: Whose) => fact({ type: "user.human.password.check.succeeded" }, LOGIN, whose);

/** `count` times the same event. */
export const times = (count: number, event: () => UserFact): UserFact[] => Array.from({ length: count }, event);

// ---- other given steps ------------------------------------------------------------------

/** The lockout policy of the instance, or of an organization. */
export const lockout =
  (maxPasswordAttempts: number, options: { org?: string; lockDurationSeconds?: number } = {}): Step =>
  ({ settings }) =>
    settings.setLockout(options.org ? { org: options.org } : "instance", {
      maxPasswordAttempts,
      maxOtpAttempts: 0,
      lockDurationSeconds: options.lockDurationSeconds,
    });

/** A session of the user, opened by the login client with the user check only. */
export const sessionOpened =
  (options: { of?: string; lifetimeSeconds?: number } = {}): Step =>
  async (world) => {
    const { sessionId } = await world.signIn.createSession({ user: { userId: options.of ?? USER }, lifetimeSeconds: options.lifetimeSeconds }, LOGIN);
    world.sessions.push(sessionId);
  };

/** Time passes. */
export const after =
  (seconds: number): Step =>
  async ({ clock }) =>
    clock.advance(seconds);

/** While the command runs, just before its first commit of that user, another change of the user is committed. */
export const meanwhile =
  (change: UserFact): Step =>
  async (_world, recorder) =>
    recorder.raceNextCommit(change);

// ---- commands -----------------------------------------------------------------------------

/** CreateSession by the login client: the user check, and a password check when one is given. */
export const signIn =
  (password?: string, checks: Omit<SessionChecks, "password"> = { user: { userId: USER } }) =>
  (world: World) =>
    world.signIn.createSession({ ...checks, password }, LOGIN);

// ---- given / when / then ------------------------------------------------------------------

export function given(...steps: (Given | Given[])[]) {
  return {
    /** Runs the given steps on a new world, then the command; its answer or error is kept for `then`. */
    async when(command: (world: World) => Promise<unknown>): Promise<Then> {
      const clock = new TestClock(T0);
      const recorder = new Recorder(openSqliteStore(":memory:"), clock);
      const { store } = recorder;
      onTestFinished(() => store.close());
      await store.addOrganization({ id: ORG, name: "org", createdAt: clock.now() });
      await store.addOrganization({ id: OTHER_ORG, name: "other org", createdAt: clock.now() });
      const users = new UserApp(store, clock.now);
      const world: World = { users, signIn: new SignInApp(store, users.events), settings: new SettingsApp(store, clock.now), clock, sessions: [] };
      for (const step of steps.flat()) {
        if (typeof step === "function") await step(world, recorder);
        else await recorder.seed(step);
      }
      recorder.commits.length = 0;
      try {
        return new Then(world, recorder, { result: await command(world) });
      } catch (error) {
        return new Then(world, recorder, { error });
      }
    },
  };
}

export class Then {
  constructor(
    readonly world: World,
    private readonly recorder: Recorder,
    private readonly outcome: { result?: unknown; error?: unknown },
  ) {}

  /** What the command answered; fails the test if it failed. */
  get result(): any {
    if ("error" in this.outcome) throw this.outcome.error;
    return this.outcome.result;
  }

  /** Exactly these events were appended by the command, in this order (none if none are given). */
  events(...expected: UserFact[]): void {
    expect(this.recorder.commits.flat().map(comparable)).toEqual(expected.map(comparable));
  }

  /** How many commits the command's events took. */
  get commits(): number {
    return this.recorder.commits.length;
  }

  /** The command failed with this error (kind, ZITADEL's id, and for a wrong password the count it reports). */
  error(kind: ErrorKind, id: string | undefined, extra: { failedAttempts?: number } = {}): void {
    expect(this.outcome, "the command should have failed").toHaveProperty("error");
    expectDomainError(this.outcome.error, kind, id, extra);
  }
}

/** What "then events" compares: not the sequence or time, which the command does not choose. */
const comparable = (event: UserFact) => ({
  userId: event.userId,
  type: event.type,
  payload: "payload" in event ? event.payload : undefined,
  actor: event.actor,
});

/** Asserts a call fails with a DomainError of this kind and id. */
export async function rejects(call: Promise<unknown>, kind: ErrorKind, id: string | undefined): Promise<void> {
  expectDomainError(await call.then(() => undefined, (err: unknown) => err), kind, id);
}

function expectDomainError(error: unknown, kind: ErrorKind, id: string | undefined, extra: { failedAttempts?: number } = {}) {
  expect(error, "the call should have failed").toBeInstanceOf(DomainError);
  expect(error).toMatchObject({ kind, id, ...extra });
}

/**
 * Beside the real store: every event committed through it, and the change that is to win the
 * race against the next commit of a user.
 */
class Recorder {
  /** The events of each commit made through the store. */
  readonly commits: UserCommit["events"][] = [];
  private readonly races = new Map<string, UserFact>();
  /** The real store, with commitUser going through the recorder: what the apps are given. */
  readonly store: Store;

  private readonly events: UserEvents;

  constructor(
    private readonly inner: Store,
    clock: TestClock,
  ) {
    this.events = new UserEvents(inner, clock.now);
    this.store = new Proxy(inner, {
      get: (target, name) => {
        if (name === "commitUser") return (commit: UserCommit) => this.commitUser(commit);
        const value: unknown = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  raceNextCommit(change: UserFact): void {
    this.races.set(change.userId, change);
  }

  /** Commits an event on the user as stored, as the app would (sessions end with the user), without recording it. */
  async seed({ userId, actor, ...event }: UserFact): Promise<void> {
    const user = await this.inner.getUser(userId);
    await this.inner.commitUser(this.events.prepare(user, [event as UserEvent], actor, userId));
  }

  private async commitUser(commit: UserCommit): Promise<void> {
    const race = this.races.get(commit.user.id);
    if (race) {
      this.races.delete(commit.user.id);
      await this.seed(race);
    }
    await this.inner.commitUser(commit);
    this.commits.push(commit.events);
  }
}
