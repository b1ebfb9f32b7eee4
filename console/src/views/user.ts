/**
 * One user: its details, its lock status and history, and the state changes, each confirmed,
 * each showing the server's error when it fails. The page follows the user's events live: each
 * joins the history, reloads the details and the lock status, and is announced, unless this
 * page caused it (its own message said so already).
 */
import type { Details } from "../../../gen/zitadel/object/v2/object_pb.js";
import type { User } from "../../../gen/zitadel/user/v2/user_pb.js";
import type { UserEvent } from "../../../gen/zus/user/v1/user_record_service_pb.js";
import { ActorNames } from "../actors.js";
import type { Clients } from "../api.js";
import { h } from "../dom.js";
import { HistoryPanel } from "../history.js";
import { coalesced, follow } from "../live.js";
import { LockStatusPanel } from "../lock-status.js";
import { eventLabel } from "../record-labels.js";
import { ErrorBox } from "../server-error.js";
import { USER_ACTIONS, type UserAction } from "../user-actions.js";
import { displayName, formatTime, userType } from "../user-fields.js";
import { stateBadge } from "../user-state.js";
import { confirm, type Confirmation } from "./confirm.js";
import { lockDialog } from "./lock-dialog.js";
import { settle, type Outcome } from "./outcome.js";
import type { Navigator, View } from "./view.js";

/** `listHref` is where "All users" leads: the list as it was last filtered. */
export function userView(clients: Clients, nav: Navigator, userId: string, listHref: string): View {
  const client = clients.users;
  let user: User | undefined;
  const heading = h("h1", { tabIndex: -1 }, "User");
  const details = h("dl", { className: "details" });
  const error = new ErrorBox();
  const buttons = USER_ACTIONS.map((action) => {
    const button = h("button", { type: "button", className: action.removesUser ? "danger" : "", disabled: true }, action.label);
    button.onclick = () => void perform(action);
    return { action, button };
  });

  function showUser(loaded: User): void {
    user = loaded;
    heading.textContent = loaded.username;
    document.title = `${loaded.username} · Admin console`;
    const email = loaded.type.case === "human" ? loaded.type.value.email : undefined;
    const rows: [string, Node | string][] = [
      ["State", stateBadge(loaded.state)],
      ["User ID", h("code", {}, loaded.userId)],
      ["Type", userType(loaded)],
      ["Name", displayName(loaded)],
      ["Email", email ? `${email.email}${email.isVerified ? " (verified)" : ""}` : "none"],
      ["Login names", loaded.loginNames.join(", ")],
      ["Organization", h("code", {}, loaded.details?.resourceOwner ?? "")],
      ["Created", formatTime(loaded.details?.creationDate)],
      ["Last changed", formatTime(loaded.details?.changeDate)],
      ["Changes", String(loaded.details?.sequence ?? "")],
    ];
    details.replaceChildren(...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
    for (const { action, button } of buttons) button.disabled = !action.allowedFrom.includes(loaded.state);
  }

  const lockStatus = new LockStatusPanel(clients.records, userId);
  const history = new HistoryPanel(clients.records, new ActorNames(client), userId);

  /** Only the newest answer is shown when live updates ask faster than the server answers. */
  let latestUser = 0;
  const loadUser = async () => {
    const request = ++latestUser;
    const answer = await client.getUserByID({ userId });
    if (answer.user && request === latestUser) showUser(answer.user);
  };

  /** The user, then its lock status and newest events; only the user's failure is thrown (the panels show their own). */
  const refresh = async () => {
    await loadUser();
    await Promise.all([lockStatus.load(), history.loadNewest().catch(() => undefined)]);
  };

  /** The newest event this page caused itself. */
  let ownUpTo = 0n;
  let stopFollowing: (() => void) | undefined;
  let left = false;
  const reloadForEvent = coalesced(async () => {
    await Promise.all([loadUser().catch((err: unknown) => error.show("Could not reload the user", err)), lockStatus.load()]);
  });
  function onEvent(event: UserEvent): void {
    const isNew = history.add(event);
    reloadForEvent();
    if (isNew && event.sequence > ownUpTo) nav.announce(`Live update for ${user?.username ?? userId}: ${eventLabel(event.type)}.`);
  }

  /** Confirms, then runs the action with the page's buttons disabled. */
  async function confirmThenRun(dialog: Confirmation, action: UserAction): Promise<Outcome<{ details?: Details }>> {
    if (!(await confirm(dialog))) return { kind: "cancelled" };
    for (const { button } of buttons) button.disabled = true;
    return settle(action.run(clients, userId));
  }

  async function perform(action: UserAction): Promise<void> {
    if (!user) return;
    const { username } = user;
    const dialog = {
      title: `${action.label} ${username}?`,
      text: action.consequence,
      confirmLabel: `${action.label} user`,
      destructive: action.removesUser,
    };
    const outcome = action.takesLockInput
      ? await lockDialog(dialog, (lock) => action.run(clients, userId, lock))
      : await confirmThenRun(dialog, action);
    if (outcome.kind === "cancelled") return;
    error.clear();
    if (outcome.kind === "failed") {
      error.show(`Could not ${action.label.toLowerCase()} ${username}`, outcome.error);
      // The state may have changed meanwhile: show the one the server has now. The action's error is the one to show.
      await refresh().catch(() => undefined);
      error.element.focus();
      return;
    }
    const sequence = outcome.value.details?.sequence ?? 0n;
    if (sequence > ownUpTo) ownUpTo = sequence;
    const message = `User ${username} ${action.done}.`;
    if (action.removesUser) return nav.go(listHref, message);
    nav.announce(message);
    await refresh().catch((err: unknown) => error.show("Could not reload the user", err));
    heading.focus();
  }

  refresh().then(
    () => {
      heading.focus();
      // From the history's position: nothing committed since the first page was read is missed.
      if (!left) stopFollowing = follow(clients.watch, { userId }, history.position, onEvent);
    },
    (err: unknown) => {
      heading.textContent = "User not available";
      error.show("Could not load the user", err);
      heading.focus();
    },
  );

  return {
    element: h(
      "section",
      { className: "panel" },
      h("p", {}, h("a", { href: listHref }, "← All users")),
      heading,
      details,
      h(
        "section",
        { className: "actions", ariaLabel: "Actions" },
        h("h2", { id: "actions-title" }, "Actions"),
        h("p", { className: "hint" }, "Actions that the user's state does not allow are disabled."),
        h("div", { className: "buttons" }, ...buttons.map(({ button }) => button)),
        error.element,
      ),
      lockStatus.element,
      history.element,
    ),
    // Focus moves to the heading once the user is loaded, so it is read with the username.
    enter: () => undefined,
    leave() {
      left = true;
      stopFollowing?.();
    },
  };
}
