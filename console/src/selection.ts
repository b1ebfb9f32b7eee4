/**
 * The user list's selection for bulk actions: a checkbox per row and one for all rows of the
 * page. Only users shown can be selected: a new page, filter or reload keeps those still shown.
 */
import type { User } from "../../gen/zitadel/user/v2/user_pb.js";
import { h } from "./dom.js";

export interface SelectedUser {
  id: string;
  username: string;
}

export class PageSelection {
  /** For the header: checked when every row is, mixed when some are. */
  readonly all = h("input", { type: "checkbox", ariaLabel: "Select all users on this page" });
  private readonly rows = new Map<string, { box: HTMLInputElement; username: string }>();
  private readonly chosen = new Set<string>();

  constructor(private readonly onChange: () => void) {
    this.all.addEventListener("change", () => {
      for (const [id, { box }] of this.rows) {
        box.checked = this.all.checked;
        if (this.all.checked) this.chosen.add(id);
        else this.chosen.delete(id);
      }
      this.changed();
    });
  }

  /** The users of the page about to be shown; those shown before keep their checkbox (and its focus). */
  show(users: readonly User[]): void {
    const before = new Map(this.rows);
    this.rows.clear();
    for (const user of users) {
      const box = before.get(user.userId)?.box ?? this.checkbox(user.userId);
      box.ariaLabel = `Select ${user.username}`;
      this.rows.set(user.userId, { box, username: user.username });
    }
    for (const id of this.chosen) if (!this.rows.has(id)) this.chosen.delete(id);
    this.changed();
  }

  /** The checkbox of a user given to `show`. */
  checkboxOf(userId: string): HTMLInputElement {
    return this.rows.get(userId)!.box;
  }

  selected(): SelectedUser[] {
    return [...this.chosen].map((id) => ({ id, username: this.rows.get(id)!.username }));
  }

  private checkbox(userId: string): HTMLInputElement {
    const box = h("input", { type: "checkbox", checked: this.chosen.has(userId) });
    box.addEventListener("change", () => {
      if (box.checked) this.chosen.add(userId);
      else this.chosen.delete(userId);
      this.changed();
    });
    return box;
  }

  private changed(): void {
    const count = this.chosen.size;
    this.all.checked = count > 0 && count === this.rows.size;
    this.all.indeterminate = count > 0 && count < this.rows.size;
    this.all.disabled = this.rows.size === 0;
    this.onChange();
  }
}
