/** A modal confirmation (<dialog>): Escape or Cancel declines; focus starts on Cancel and returns to the opener. */
import { h } from "../dom.js";
import { showModal } from "./modal.js";

export interface Confirmation {
  title: string;
  text: string;
  confirmLabel: string;
  destructive: boolean;
}

export async function confirm({ title, text, confirmLabel, destructive }: Confirmation): Promise<boolean> {
  const cancel = h("button", { type: "button", className: "secondary", autofocus: true }, "Cancel");
  const accept = h("button", { type: "button", className: destructive ? "danger" : "" }, confirmLabel);
  const dialog = h(
    "dialog",
    { className: "confirm" },
    h("h2", { id: "confirm-title" }, title),
    h("p", { id: "confirm-text" }, text),
    h("div", { className: "buttons" }, cancel, accept),
  );
  dialog.setAttribute("aria-labelledby", "confirm-title");
  dialog.setAttribute("aria-describedby", "confirm-text");
  cancel.onclick = () => dialog.close("cancel");
  accept.onclick = () => dialog.close("confirm");
  await showModal(dialog);
  return dialog.returnValue === "confirm";
}
