/** Sign in with an access token; it is checked with one ListUsers call before it is kept. */
import { clients } from "../api.js";
import { h, labelled } from "../dom.js";
import { ErrorBox } from "../server-error.js";
import type { View } from "./view.js";

export function signInView(onSignedIn: (token: string) => void): View {
  const token = h("input", { type: "password", name: "token", required: true, autocomplete: "off", spellcheck: false });
  token.setAttribute("aria-describedby", "token-hint");
  const submit = h("button", { type: "submit" }, "Sign in");
  const error = new ErrorBox();
  const form = h(
    "form",
    { className: "sign-in" },
    labelled("token", "Access token", token),
    h("p", { className: "hint", id: "token-hint" }, "Paste the token of an administrator, e.g. the one the server wrote to data/admin.pat."),
    submit,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const candidate = token.value.trim();
    submit.disabled = true;
    error.clear();
    clients(candidate)
      .users.listUsers({ query: { limit: 1 } })
      .then(
        () => onSignedIn(candidate),
        (err: unknown) => {
          error.show("Could not sign in", err);
          token.focus();
        },
      )
      .finally(() => (submit.disabled = false));
  });
  return {
    element: h("section", { className: "panel narrow" }, h("h1", {}, "Sign in"), error.element, form),
    enter: () => token.focus(),
  };
}
