/**
 * Protobuf requests → domain input, with the request validation ZITADEL does before
 * any business rule. Fields this server declares but does not implement are refused.
 */
import type { TextFilterMethod } from "../../gen/zitadel/filter/v2/filter_pb.js";
import type { TextQueryMethod, ListQuery } from "../../gen/zitadel/object/v2/object_pb.js";
import { Type, UserFieldName, type SearchQuery } from "../../gen/zitadel/user/v2/query_pb.js";
import { Gender as ProtoGender, UserState as ProtoUserState } from "../../gen/zitadel/user/v2/user_pb.js";
import type { AddHumanUserRequest } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { AddHumanInput, ListUsersInput } from "../app/user-app.js";
import { invalidArgument } from "../domain/errors.js";
import type { Principal } from "../domain/permissions.js";
import type { Gender, UserState } from "../domain/user.js";
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type TextMatch, type UserFilter, type UserSortField } from "../domain/user-query.js";
import { isSupportedImportedHash } from "../security/passwords.js";
import { PROTO_STATE } from "./to-proto.js";

const runes = (value: string) => [...value].length;

/** Like protoc-gen-validate's message for a string length rule. */
export function requireLength(value: string, message: string, field: string, min: number, max: number): string {
  const length = runes(value);
  if (length < min || length > max) {
    throw invalidArgument(`invalid ${message}.${field}: value length must be between ${min} and ${max} runes, inclusive`);
  }
  return value;
}

const notSupported = (field: string) => invalidArgument(`invalid AddHumanUserRequest.${field}: not supported by this server`);

const GENDER: Record<ProtoGender, Gender> = {
  [ProtoGender.UNSPECIFIED]: "unspecified",
  [ProtoGender.FEMALE]: "female",
  [ProtoGender.MALE]: "male",
  [ProtoGender.DIVERSE]: "diverse",
};

export function addHumanInput(req: AddHumanUserRequest, caller: Principal): AddHumanInput {
  if (req.phone) throw notSupported("Phone");
  if (req.metadata.length) throw notSupported("Metadata");
  if (req.idpLinks.length) throw notSupported("IdpLinks");
  if (req.totpSecret !== undefined) throw notSupported("TotpSecret");
  if (req.organization?.org.case === "orgDomain") throw notSupported("Organization.OrgDomain");
  const verification = req.email?.verification;
  if (verification?.case === "sendCode") throw notSupported("Email.SendCode");
  if (verification?.case === "returnCode") throw notSupported("Email.ReturnCode");
  if (!req.profile) throw invalidArgument("invalid AddHumanUserRequest.Profile: value is required");
  if (!req.email) throw invalidArgument("invalid AddHumanUserRequest.Email: value is required");

  const profile = req.profile;
  requireLength(profile.givenName, "SetHumanProfile", "GivenName", 1, 200);
  requireLength(profile.familyName, "SetHumanProfile", "FamilyName", 1, 200);
  if (profile.nickName !== undefined) requireLength(profile.nickName, "SetHumanProfile", "NickName", 0, 200);
  if (profile.displayName !== undefined) requireLength(profile.displayName, "SetHumanProfile", "DisplayName", 0, 200);
  if (profile.preferredLanguage !== undefined)
    requireLength(profile.preferredLanguage, "SetHumanProfile", "PreferredLanguage", 0, 10);
  if (profile.gender !== undefined && !(profile.gender in GENDER))
    throw invalidArgument("invalid SetHumanProfile.Gender: value must be one of the defined enum values");
  requireLength(req.email.email, "SetHumanEmail", "Email", 1, 200);
  if (req.userId !== undefined) requireLength(req.userId, "AddHumanUserRequest", "UserId", 1, 200);
  if (req.username !== undefined) requireLength(req.username, "AddHumanUserRequest", "Username", 1, 200);
  const { passwordType } = req;
  if (passwordType.case === "password") requireLength(passwordType.value.password, "Password", "Password", 1, 200);
  if (passwordType.case === "hashedPassword" && !isSupportedImportedHash(passwordType.value.hash)) {
    throw invalidArgument("invalid HashedPassword.Hash: only bcrypt hashes ($2a$, $2b$, $2y$) are supported");
  }

  return {
    userId: req.userId,
    orgId: req.organization?.org.case === "orgId" ? req.organization.org.value : caller.orgId,
    username: req.username,
    profile: {
      givenName: profile.givenName,
      familyName: profile.familyName,
      nickName: profile.nickName,
      displayName: profile.displayName,
      preferredLanguage: profile.preferredLanguage,
      gender: profile.gender === undefined ? undefined : GENDER[profile.gender],
    },
    email: req.email.email,
    emailVerified: verification?.case === "isVerified" && verification.value,
    password:
      passwordType.case === "password"
        ? { plain: passwordType.value.password }
        : passwordType.case === "hashedPassword"
          ? { hash: passwordType.value.hash }
          : undefined,
    passwordChangeRequired: passwordType.value?.changeRequired ?? false,
  };
}

/**
 * ZITADEL's text methods, numbered alike in zitadel.object.v2.TextQueryMethod (ListUsers) and
 * zitadel.filter.v2.TextFilterMethod (the action service's filters); undefined for other numbers.
 */
export const textMatchOf = (method: TextQueryMethod | TextFilterMethod): TextMatch | undefined => TEXT_MATCHES[method];

const TEXT_MATCHES: readonly TextMatch[] = [
  "equals",
  "equalsIgnoreCase",
  "startsWith",
  "startsWithIgnoreCase",
  "contains",
  "containsIgnoreCase",
  "endsWith",
  "endsWithIgnoreCase",
];

const DOMAIN_STATE = new Map<ProtoUserState, UserState>(
  Object.entries(PROTO_STATE).map(([state, proto]) => [proto, state as UserState]),
);

const SORT_FIELD: Record<UserFieldName, UserSortField> = {
  [UserFieldName.UNSPECIFIED]: "creationDate",
  [UserFieldName.USER_NAME]: "userName",
  [UserFieldName.FIRST_NAME]: "firstName",
  [UserFieldName.LAST_NAME]: "lastName",
  [UserFieldName.NICK_NAME]: "nickName",
  [UserFieldName.DISPLAY_NAME]: "displayName",
  [UserFieldName.EMAIL]: "email",
  [UserFieldName.STATE]: "state",
  [UserFieldName.TYPE]: "type",
  [UserFieldName.CREATION_DATE]: "creationDate",
};

const MAX_QUERY_DEPTH = 20;
/** All queries of one request, nested ones included: each becomes SQL, whose expression size is bounded. */
const MAX_QUERIES = 100;
/** Ids in one InUserIDQuery: each is a bound SQL parameter, and SQLite takes at most 32,766. */
const MAX_USER_IDS = 1000;

function toFilter(query: SearchQuery, depth: number, seen: { count: number }): UserFilter {
  if (depth > MAX_QUERY_DEPTH) throw invalidArgument(`invalid SearchQuery: nested deeper than ${MAX_QUERY_DEPTH}`);
  if (++seen.count > MAX_QUERIES) throw invalidArgument(`invalid ListUsersRequest.Queries: more than ${MAX_QUERIES} queries`);
  const q = query.query;
  switch (q.case) {
    case "userNameQuery": {
      const match = textMatchOf(q.value.method);
      if (!match) throw invalidArgument("invalid UserNameQuery.Method: value must be one of the defined enum values");
      return { kind: "userName", value: requireLength(q.value.userName, "UserNameQuery", "UserName", 1, 200), match };
    }
    case "stateQuery": {
      const state = DOMAIN_STATE.get(q.value.state);
      if (!state) throw invalidArgument("invalid StateQuery.State: value must be one of the defined enum values");
      return { kind: "state", state };
    }
    case "typeQuery":
      if (q.value.type === Type.HUMAN) return { kind: "type", type: "human" };
      if (q.value.type === Type.MACHINE) return { kind: "type", type: "machine" };
      throw invalidArgument("invalid TypeQuery.Type: value must be one of the defined enum values");
    case "inUserIdsQuery":
      if (q.value.userIds.length > MAX_USER_IDS) throw invalidArgument(`invalid InUserIDQuery.UserIds: more than ${MAX_USER_IDS} ids`);
      return { kind: "ids", ids: q.value.userIds };
    case "organizationIdQuery":
      return {
        kind: "org",
        orgId: requireLength(q.value.organizationId, "OrganizationIdQuery", "OrganizationId", 1, 200),
      };
    case "orQuery":
      return { kind: "or", filters: q.value.queries.map((sub) => toFilter(sub, depth + 1, seen)) };
    case "andQuery":
      return { kind: "and", filters: q.value.queries.map((sub) => toFilter(sub, depth + 1, seen)) };
    case "notQuery":
      if (!q.value.query) throw invalidArgument("invalid NotQuery.Query: value is required");
      return { kind: "not", filter: toFilter(q.value.query, depth + 1, seen) };
    case undefined:
      throw invalidArgument("invalid SearchQuery.Query: value is required");
  }
}

export function listUsersInput(query: ListQuery | undefined, sorting: UserFieldName, queries: SearchQuery[]): ListUsersInput {
  const limit = query?.limit || DEFAULT_LIST_LIMIT;
  if (limit > MAX_LIST_LIMIT) throw invalidArgument(`invalid ListQuery.Limit: value must be less than or equal to ${MAX_LIST_LIMIT}`);
  const sort = SORT_FIELD[sorting];
  if (!sort) throw invalidArgument("invalid ListUsersRequest.SortingColumn: value must be one of the defined enum values");
  const offset = Number(query?.offset ?? 0n);
  if (!Number.isSafeInteger(offset)) throw invalidArgument("invalid ListQuery.Offset: value is too large");
  const seen = { count: 0 };
  return { filters: queries.map((q) => toFilter(q, 0, seen)), sort, asc: query?.asc ?? false, offset, limit };
}
