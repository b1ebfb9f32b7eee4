/** What the list and the user's page show of a user. */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { User } from "../../gen/zitadel/user/v2/user_pb.js";
import { h } from "./dom.js";

export function displayName(user: User): string {
  if (user.type.case === "machine") return user.type.value.name;
  const profile = user.type.value?.profile;
  if (!profile) return "";
  return profile.displayName || `${profile.givenName} ${profile.familyName}`.trim();
}

/** "1 user", "3 users". */
export const countUsers = (count: number): string => `${count} ${count === 1 ? "user" : "users"}`;

export const userType = (user: User): string => (user.type.case === "machine" ? "Machine" : "Human");

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
/** For the lock record, where events follow each other within seconds and a lock ends to the second. */
const DATE_TIME_SECONDS = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export const formatTime = (timestamp: Timestamp | undefined): string =>
  timestamp ? DATE_TIME.format(timestampDate(timestamp)) : "";

/** A <time> to the second, its machine-readable `datetime` in ISO 8601. */
export function timeElement(timestamp: Timestamp): HTMLTimeElement {
  const date = timestampDate(timestamp);
  return h("time", { dateTime: date.toISOString() }, DATE_TIME_SECONDS.format(date));
}
