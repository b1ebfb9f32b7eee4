/** Domain values → protobuf messages. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DetailsSchema, type Details } from "../../gen/zitadel/object/v2/object_pb.js";
import { Gender as ProtoGender, UserSchema, UserState as ProtoUserState, type User as ProtoUser } from "../../gen/zitadel/user/v2/user_pb.js";
import type { ChangeDetails } from "../app/user-events.js";
import { userState, type Gender, type User, type UserState } from "../domain/user.js";

export const PROTO_STATE: Record<UserState, ProtoUserState> = {
  active: ProtoUserState.ACTIVE,
  inactive: ProtoUserState.INACTIVE,
  deleted: ProtoUserState.DELETED,
  locked: ProtoUserState.LOCKED,
  initial: ProtoUserState.INITIAL,
};

const PROTO_GENDER: Record<Gender, ProtoGender> = {
  unspecified: ProtoGender.UNSPECIFIED,
  female: ProtoGender.FEMALE,
  male: ProtoGender.MALE,
  diverse: ProtoGender.DIVERSE,
};

/** For a change the event's time is both the change and the creation date (SPEC §4). */
export function changeDetails(details: ChangeDetails): Details {
  const at = timestampFromDate(details.changeDate);
  return create(DetailsSchema, {
    sequence: BigInt(details.sequence),
    changeDate: at,
    creationDate: at,
    resourceOwner: details.resourceOwner,
  });
}

/** For a read: the sequence and date of the user's latest event. */
export function userDetails(user: User): Details {
  return create(DetailsSchema, {
    sequence: BigInt(user.sequence),
    changeDate: timestampFromDate(user.changedAt),
    creationDate: timestampFromDate(user.createdAt),
    resourceOwner: user.orgId,
  });
}

export function toProtoUser(user: User): ProtoUser {
  const state = PROTO_STATE[userState(user.flags)];
  const names = { username: user.username, loginNames: [user.username], preferredLoginName: user.username };
  const { human, machine } = user;
  return create(UserSchema, {
    userId: user.id,
    details: userDetails(user),
    state,
    ...names,
    type: human
      ? {
          case: "human",
          // Like ZITADEL, the nested HumanUser carries only the human parts; id, state and names are on User.
          value: {
            profile: {
              ...human.profile,
              gender: human.profile.gender && PROTO_GENDER[human.profile.gender],
            },
            email: { email: human.email, isVerified: human.emailVerified },
            passwordChangeRequired: human.passwordChangeRequired,
          },
        }
      : { case: "machine", value: { name: machine?.name ?? "", description: machine?.description ?? "" } },
  });
}
