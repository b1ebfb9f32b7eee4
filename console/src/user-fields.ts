/** What the list and the user's page show of a user. */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { User } from "../../gen/zitadel/user/v2/user_pb.js";

export function displayName(user: User): string {
  if (user.type.case === "machine") return user.type.value.name;
  const profile = user.type.value?.profile;
  if (!profile) return "";
  return profile.displayName || `${profile.givenName} ${profile.familyName}`.trim();
}

export const userType = (user: User): string => (user.type.case === "machine" ? "Machine" : "Human");

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export const formatTime = (timestamp: Timestamp | undefined): string =>
  timestamp ? DATE_TIME.format(timestampDate(timestamp)) : "";
