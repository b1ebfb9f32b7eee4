/**
 * The user list's table body, kept row by row: a reload (a live update, a bulk change) updates
 * the rows of users still shown in place, so that the focus of a keyboard user on a row's
 * checkbox or link survives it, and tells which users' states changed.
 */
import type { User, UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import { h } from "./dom.js";
import { userHref } from "./routes.js";
import { displayName, formatTime, userType } from "./user-fields.js";
import { stateBadge } from "./user-state.js";

interface Row {
  row: HTMLTableRowElement;
  link: HTMLAnchorElement;
  state: UserState;
}

export interface StateChange {
  username: string;
  state: UserState;
}

export class UserRows {
  readonly body = h("tbody");
  private readonly rows = new Map<string, Row>();

  constructor(private readonly columns: number) {}

  /** Shows the users in this order, each with its checkbox; answers the states that changed in rows already shown. */
  show(users: readonly User[], checkboxOf: (userId: string) => HTMLInputElement): StateChange[] {
    const changes: StateChange[] = [];
    const shown = new Set(users.map((user) => user.userId));
    for (const [id, { row }] of this.rows) {
      if (shown.has(id)) continue;
      row.remove();
      this.rows.delete(id);
    }
    this.body.querySelector(".empty")?.closest("tr")?.remove();
    users.forEach((user, index) => {
      let kept = this.rows.get(user.userId);
      if (kept) {
        if (kept.state !== user.state) changes.push({ username: user.username, state: user.state });
        kept.link.textContent = user.username;
        kept.state = user.state;
        for (const cell of [...kept.row.cells].slice(2)) cell.remove();
        kept.row.append(...dataCells(user));
      } else {
        const link = h("a", { href: userHref(user.userId) }, user.username);
        const row = h("tr", {}, h("td", {}, checkboxOf(user.userId)), h("th", { scope: "row" }, link), ...dataCells(user));
        kept = { row, link, state: user.state };
        this.rows.set(user.userId, kept);
      }
      // Moved only when out of place: moving a row would take the focus from its checkbox or link.
      const at = this.body.rows[index];
      if (at !== kept.row) this.body.insertBefore(kept.row, at ?? null);
    });
    if (users.length === 0) this.body.append(h("tr", {}, h("td", { colSpan: this.columns, className: "empty" }, "No users match.")));
    return changes;
  }

  shows(userId: string): boolean {
    return this.rows.has(userId);
  }

  clear(): void {
    this.rows.clear();
    this.body.replaceChildren();
  }
}

function dataCells(user: User): HTMLTableCellElement[] {
  return [
    h("td", {}, displayName(user)),
    h("td", {}, userType(user)),
    h("td", {}, h("code", {}, user.details?.resourceOwner ?? "")),
    h("td", {}, stateBadge(user.state)),
    h("td", {}, formatTime(user.details?.creationDate)),
  ];
}
