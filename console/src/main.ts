/** The console's shell: the token, the status line, the sections and the sign-out button, and which screen the URL shows. */
import "./styles.css";
import { clients } from "./api.js";
import { routeOf, SIGN_IN_HREF, usersHref, type Route } from "./routes.js";
import { clearToken, readToken, saveToken } from "./token.js";
import { signInView } from "./views/sign-in.js";
import { deliveriesView } from "./views/deliveries.js";
import { userListView } from "./views/user-list.js";
import { userView } from "./views/user.js";
import type { Navigator, View } from "./views/view.js";

const main = document.getElementById("main")!;
const status = document.getElementById("status")!;
const signOutButton = document.getElementById("sign-out") as HTMLButtonElement;
const sections = document.getElementById("sections")!;
const usersLink = document.getElementById("users-link") as HTMLAnchorElement;
const deliveriesLink = document.getElementById("deliveries-link") as HTMLAnchorElement;

let shown: { name: Route["name"]; view: View } | undefined;
/** Said once the next screen is shown (navigation is asynchronous: it waits for `hashchange`). */
let pendingMessage = "";
/** The list as it was last filtered, for the user page's way back. */
let listHref = usersHref();

const nav: Navigator = {
  go(href, message = "") {
    pendingMessage = message;
    if (location.hash === href) render();
    else location.hash = href;
  },
  announce(message) {
    status.textContent = message;
  },
};

function signOut(message: string): void {
  clearToken();
  nav.go(SIGN_IN_HREF, message);
}

function signIn(token: string): void {
  saveToken(token);
  nav.go(listHref, "Signed in.");
}

function screenFor(route: Route, token: string | null): View {
  if (token === null || route.name === "sign-in") return signInView(signIn);
  const api = clients(token, () => signOut("The server refused the token. Sign in again."));
  if (route.name === "deliveries") return deliveriesView(api, nav);
  return route.name === "user" ? userView(api, nav, route.userId, listHref) : userListView(api, nav, route);
}

function render(): void {
  const route = routeOf(location.hash);
  const token = readToken();
  if (token === null && route.name !== "sign-in") return nav.go(SIGN_IN_HREF, pendingMessage);
  if (token !== null && route.name === "sign-in") return nav.go(listHref, pendingMessage);
  nav.announce(pendingMessage);
  pendingMessage = "";
  signOutButton.hidden = token === null;
  sections.hidden = token === null;
  if (route.name === "users") listHref = usersHref(route.query);
  // Users leads back to the list as it was last filtered; the link of the section shown is marked.
  usersLink.href = listHref;
  usersLink.ariaCurrent = route.name === "deliveries" ? null : "page";
  deliveriesLink.ariaCurrent = route.name === "deliveries" ? "page" : null;
  if (shown?.name === route.name && shown.view.update) return shown.view.update(route);

  const titles: Record<Route["name"], string> = { "sign-in": "Sign in", users: "Users", user: "User", deliveries: "Deliveries" };
  document.title = `${titles[route.name]} · Admin console`;
  shown?.view.leave?.();
  const view = screenFor(route, token);
  shown = { name: route.name, view };
  main.replaceChildren(view.element);
  view.enter();
}

signOutButton.addEventListener("click", () => signOut("Signed out."));
window.addEventListener("hashchange", render);
render();
