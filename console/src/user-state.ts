/** How the console names and shows a user's state. */
import { UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import { h } from "./dom.js";

const LABELS: Partial<Record<UserState, string>> = {
  [UserState.ACTIVE]: "Active",
  [UserState.INITIAL]: "Initial",
  [UserState.LOCKED]: "Locked",
  [UserState.INACTIVE]: "Inactive",
  [UserState.DELETED]: "Deleted",
};

/** The states the list can be filtered by, in the order the filter offers them. */
export const FILTERABLE_STATES = [UserState.ACTIVE, UserState.INITIAL, UserState.LOCKED, UserState.INACTIVE];

export const stateLabel = (state: UserState): string => LABELS[state] ?? "Unknown";

/** The state's name in the list's URL, e.g. `state=locked`. */
export const stateParam = (state: UserState): string => stateLabel(state).toLowerCase();

export const stateFromParam = (param: string | null): UserState | undefined =>
  FILTERABLE_STATES.find((state) => stateParam(state) === param);

/** The state as a badge: its colour repeats the word, it never replaces it. */
export const stateBadge = (state: UserState): HTMLElement =>
  h("span", { className: `badge badge-${stateParam(state)}` }, stateLabel(state));
