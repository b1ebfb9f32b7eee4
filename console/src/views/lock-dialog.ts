/**
 * The lock dialog: a reason and an optional duration, then the lock itself. Input the server
 * refuses (InvalidArgument, e.g. a duration over a year) is shown in the dialog, which stays
 * open to correct it; any other failure closes it and is the page's to show, like the other
 * actions' errors. Escape or Cancel declines, except while the call runs; focus starts on the
 * reason and returns to the opener.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { h } from "../dom.js";
import { LockFields, type LockInput } from "../lock-fields.js";
import { ErrorBox } from "../server-error.js";
import type { Confirmation } from "./confirm.js";
import { showModal } from "./modal.js";
import { settle, type Outcome } from "./outcome.js";

export async function lockDialog<T>({ title, text, confirmLabel }: Confirmation, lock: (input: LockInput) => Promise<T>): Promise<Outcome<T>> {
  const fields = new LockFields();
  const error = new ErrorBox();
  const cancel = h("button", { type: "button", className: "secondary" }, "Cancel");
  const submit = h("button", { type: "submit" }, confirmLabel);
  const form = h("form", {}, fields.element, error.element, h("div", { className: "buttons" }, cancel, submit));
  const dialog = h("dialog", { className: "confirm" }, h("h2", { id: "lock-title" }, title), h("p", { id: "lock-text" }, text), form);
  dialog.setAttribute("aria-labelledby", "lock-title");
  dialog.setAttribute("aria-describedby", "lock-text");
  let running = false;
  let outcome: Outcome<T> = { kind: "cancelled" };

  cancel.onclick = () => dialog.close();
  dialog.addEventListener("cancel", (event) => {
    if (running) event.preventDefault();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    running = true;
    submit.disabled = cancel.disabled = true;
    error.clear();
    void settle(lock(fields.read())).then((result) => {
      running = false;
      submit.disabled = cancel.disabled = false;
      if (result.kind === "failed" && ConnectError.from(result.error).code === Code.InvalidArgument) {
        error.show("The server refused the lock", result.error);
        error.element.focus();
        return;
      }
      outcome = result;
      dialog.close();
    });
  });

  await showModal(dialog);
  return outcome;
}
