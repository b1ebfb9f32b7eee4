/**
 * The console's places, kept in the URL's hash: the server serves one index.html for all of
 * them, and back, forward and reload keep the list's filters.
 */
export type Route = { name: "sign-in" } | { name: "users"; query: URLSearchParams } | { name: "user"; userId: string } | { name: "deliveries" };

export const SIGN_IN_HREF = "#/sign-in";
export const DELIVERIES_HREF = "#/deliveries";

export function usersHref(query = new URLSearchParams()): string {
  const search = query.toString();
  return search ? `#/users?${search}` : "#/users";
}

export const userHref = (userId: string): string => `#/users/${encodeURIComponent(userId)}`;

export function routeOf(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?", 2);
  if (path === "/sign-in") return { name: "sign-in" };
  if (path === "/deliveries") return { name: "deliveries" };
  const user = /^\/users\/([^/]+)$/.exec(path);
  if (user) return { name: "user", userId: decodeURIComponent(user[1]!) };
  return { name: "users", query: new URLSearchParams(search) };
}
