/**
 * The admin console at /console/: its static files as a browser caches them, and an
 * administrator's session in a real Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) calling the server over gRPC-Web.
 * CONSOLE_SCREENSHOT=1 also writes the user list to docs/console-users.png for docs/api.md.
 */
import http from "node:http";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient, type UserClient } from "./support/clients.js";
import { ConsoleBrowser, focused } from "./support/console-browser.js";
import { addOrg } from "./support/fixtures.js";
import { ROOT, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: UserClient;
const ids = new Map<string, string>();

/** A human user named like "ada.lovelace" (Ada Lovelace); with a password it starts ACTIVE, without one INITIAL. */
async function person(username: string, options: { orgId?: string; password?: boolean } = {}): Promise<string> {
  const [givenName = "", familyName = ""] = username.split(".").map((part) => part.charAt(0).toUpperCase() + part.slice(1));
  const { userId } = await admin.addHumanUser({
    username,
    organization: options.orgId ? { org: { case: "orgId", value: options.orgId } } : undefined,
    profile: { givenName, familyName },
    email: { email: `${username}@example.com`, verification: { case: "isVerified", value: true } },
    passwordType: options.password === false ? { case: undefined } : { case: "password", value: { password: "Secr3t-Passw0rd!" } },
  });
  ids.set(username, userId);
  return userId;
}

beforeAll(async () => {
  server = await startServer();
  admin = userClient("connect-json", server.baseUrl, server.adminToken);
  const acme = await addOrg(server, "Acme");
  for (const username of ["ada.lovelace", "grace.hopper", "ken.thompson"]) await person(username);
  await person("alan.turing", { password: false });
  await admin.lockUser({ userId: await person("edsger.dijkstra") });
  await admin.deactivateUser({ userId: await person("barbara.liskov") });
  await person("margaret.hamilton", { orgId: acme });
  await person("katherine.johnson", { orgId: acme, password: false });
});

afterAll(async () => {
  await server?.stop();
});

/** GET (or another method) with the path sent exactly as written: fetch would resolve `..` itself. */
function raw(path: string, method = "GET"): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("static files", () => {
  const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);

  it("serves index.html to be revalidated on every load, with a strict Content-Security-Policy", async () => {
    for (const path of ["/console/", "/console/index.html"]) {
      const res = await fetch(server.baseUrl + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'self'; /);
      expect(assetsOf(await res.text())).toHaveLength(2);
    }
  });

  it("serves the hashed assets with their content types, cached for a year", async () => {
    const assets = assetsOf(await (await fetch(`${server.baseUrl}/console/`)).text());
    const types = new Map<string, string>();
    for (const path of assets) {
      const res = await fetch(server.baseUrl + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      types.set(path.slice(path.lastIndexOf(".")), res.headers.get("content-type")!);
    }
    expect(Object.fromEntries(types)).toEqual({ ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" });
    const icon = await fetch(`${server.baseUrl}/console/favicon.svg`);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(icon.headers.get("cache-control")).toBe("no-cache");
  });

  it("answers a revalidation with 304 and HEAD without a body", async () => {
    const first = await fetch(`${server.baseUrl}/console/`);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${server.baseUrl}/console/`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const head = await raw("/console/", "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(first.headers.get("content-length"));
    expect(head.body).toBe("");
  });

  it("sends / to the console", async () => {
    const res = await fetch(`${server.baseUrl}/`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/console/");
  });

  it("redirects /console to /console/, keeping the query", async () => {
    const res = await fetch(`${server.baseUrl}/console?from=docs`, { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/console/?from=docs");
  });

  it("answers 404 for unknown files and for every way out of the bundle", async () => {
    const paths = [
      "/console/nope.html",
      "/console/assets/nope.js",
      "/console/assets/",
      "/console/../package.json",
      "/console/assets/../../../package.json",
      "/console/%2e%2e/%2e%2e/package.json",
      "/console/..%2f..%2fpackage.json",
      "/console/..%5c..%5cpackage.json",
      "/console//etc/passwd",
      "/console/%2fetc%2fpasswd",
    ];
    for (const path of paths) {
      const res = await raw(path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).toBe("not found\n");
      expect(res.headers["cache-control"], path).toBe("no-store");
    }
  });

  it("allows only GET and HEAD", async () => {
    const res = await fetch(`${server.baseUrl}/console/`, { method: "POST", body: "x" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("in Chromium", () => {
  let browser: ConsoleBrowser;
  beforeAll(() => {
    browser = new ConsoleBrowser(server);
  });
  afterAll(() => browser.close());

  const openConsole = () => browser.open();
  const signIn = (page: Page) => browser.signIn(page);
  const listedNames = (page: Page) => page.locator("tbody th").allTextContents();
  const stateBadge = (page: Page, label: string) => page.locator(".details .badge").filter({ hasText: new RegExp(`^${label}$`) });

  async function confirmInDialog(page: Page, title: string, button: string): Promise<void> {
    const dialog = page.getByRole("dialog", { name: title });
    await dialog.getByRole("button", { name: button }).click();
    await dialog.waitFor({ state: "detached" });
  }

  it(
    "signs in with the admin token, filters to active users, locks and unlocks one, shows a conflicting change's error, and signs out",
    async () => {
      const { page, errors } = await openConsole();
      await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      expect(await focused(page)).toBe("token");
      await signIn(page);
      expect(await page.evaluate("sessionStorage.length")).toBe(1);
      await page.getByText("9 users, page 1 of 1").waitFor();
      if (process.env.CONSOLE_SCREENSHOT) await page.screenshot({ path: join(ROOT, "docs/console-users.png"), fullPage: true });

      await page.getByLabel("State").selectOption("active");
      await page.getByText("5 users, page 1 of 1").waitFor();
      expect(page.url()).toContain("#/users?state=active");
      expect(await page.locator("tbody .badge").allTextContents()).toEqual(Array(5).fill("Active"));
      expect(await listedNames(page)).toEqual(
        expect.arrayContaining(["admin", "ada.lovelace", "grace.hopper", "ken.thompson", "margaret.hamilton"]),
      );

      await page.getByRole("link", { name: "grace.hopper" }).click();
      await page.getByRole("heading", { level: 1, name: "grace.hopper" }).waitFor();
      await stateBadge(page, "Active").waitFor();
      const lock = page.getByRole("button", { name: "Lock", exact: true });
      const unlock = page.getByRole("button", { name: "Unlock", exact: true });
      expect(await unlock.isDisabled()).toBe(true);

      // The lock dialog starts on the reason; Escape declines and gives focus back to the button.
      await lock.click();
      expect(await focused(page)).toBe("lock-reason");
      await page.keyboard.press("Escape");
      await page.getByRole("dialog").waitFor({ state: "detached" });
      expect(await focused(page)).toBe("Lock");
      await stateBadge(page, "Active").waitFor();

      await lock.click();
      await confirmInDialog(page, "Lock grace.hopper?", "Lock user");
      await stateBadge(page, "Locked").waitFor();
      await page.getByRole("status").getByText("User grace.hopper locked.").waitFor();
      expect(await lock.isDisabled()).toBe(true);
      expect((await admin.getUserByID({ userId: ids.get("grace.hopper")! })).user?.state).toBe(UserState.LOCKED);

      await unlock.click();
      await confirmInDialog(page, "Unlock grace.hopper?", "Unlock user");
      await stateBadge(page, "Active").waitFor();
      expect((await admin.getUserByID({ userId: ids.get("grace.hopper")! })).user?.state).toBe(UserState.ACTIVE);

      // Locked through the API while the page's lock dialog is open: the server refuses the page's lock.
      await lock.click();
      await admin.lockUser({ userId: ids.get("grace.hopper")! });
      await confirmInDialog(page, "Lock grace.hopper?", "Lock user");
      const alert = page.getByRole("alert");
      await alert.getByText("COMMAND-lgws8wtsqf").waitFor();
      const shown = await alert.innerText();
      expect(shown).toContain("Could not lock grace.hopper");
      expect(shown).toContain("FailedPrecondition");
      expect(shown).toContain("User is not active or initial");
      await stateBadge(page, "Locked").waitFor();
      expect(await unlock.isDisabled()).toBe(false);

      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      await page.getByRole("status").getByText("Signed out.").waitFor();
      expect(await page.evaluate("sessionStorage.length")).toBe(0);
      expect(errors).toEqual([]);
      await page.close();
    },
    60_000,
  );

  it("searches by username, filters by organization, sorts by a column and pages", async () => {
    const orgId = await addOrg(server);
    await Promise.all(Array.from({ length: 23 }, (_, i) => person(`user.${String(i).padStart(2, "0")}`, { orgId, password: false })));
    const { page, errors } = await openConsole();
    await signIn(page);

    await page.getByLabel("Organization ID").fill(orgId);
    await page.getByLabel("Organization ID").press("Enter");
    await page.getByText("23 users, page 1 of 2").waitFor();
    expect(await listedNames(page)).toHaveLength(20);
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("23 users, page 2 of 2").waitFor();
    expect(await listedNames(page)).toHaveLength(3);
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);

    const byUsername = page.getByRole("columnheader", { name: "Username" });
    await byUsername.getByRole("button").click();
    await page.getByText("23 users, page 1 of 2").waitFor();
    expect(await byUsername.getAttribute("aria-sort")).toBe("ascending");
    expect((await listedNames(page)).slice(0, 2)).toEqual(["user.00", "user.01"]);
    await byUsername.getByRole("button").click();
    await page.locator("tbody tr:first-child th", { hasText: "user.22" }).waitFor();
    expect(await byUsername.getAttribute("aria-sort")).toBe("descending");
    expect((await listedNames(page)).slice(0, 2)).toEqual(["user.22", "user.21"]);

    await page.getByLabel("Username contains").fill("USER.1");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText("10 users, page 1 of 1").waitFor();
    expect(await listedNames(page)).toEqual(["user.19", "user.18", "user.17", "user.16", "user.15", "user.14", "user.13", "user.12", "user.11", "user.10"]);
    expect(await page.locator("tbody .badge").allTextContents()).toEqual(Array(10).fill("Initial"));
    expect(errors).toEqual([]);
    await page.close();
  });
});
