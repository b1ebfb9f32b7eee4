/** Shows a failed call as the server answered it: code, message and ZITADEL's error id. */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { h } from "./dom.js";

export interface ServerError {
  code: string;
  message: string;
  /** From the zitadel.v1.ErrorDetail the server attaches; absent for transport failures. */
  id: string | undefined;
}

export function serverError(err: unknown): ServerError {
  const error = ConnectError.from(err);
  const [detail] = error.findDetails(ErrorDetailSchema);
  return { code: Code[error.code], message: detail?.message ?? error.rawMessage, id: detail?.id };
}

/** An alert box, empty and hidden until `show`; screen readers announce what it shows. */
export class ErrorBox {
  readonly element = h("div", { className: "error-box", role: "alert", tabIndex: -1, hidden: true });

  show(title: string, err: unknown): void {
    const { code, message, id } = serverError(err);
    const fields = h("dl", {}, h("dt", {}, "Code"), h("dd", {}, code), h("dt", {}, "Message"), h("dd", {}, message));
    if (id) fields.append(h("dt", {}, "Error ID"), h("dd", {}, h("code", {}, id)));
    this.element.replaceChildren(h("p", { className: "error-title" }, title), fields);
    this.element.hidden = false;
  }

  clear(): void {
    this.element.hidden = true;
    this.element.replaceChildren();
  }
}
