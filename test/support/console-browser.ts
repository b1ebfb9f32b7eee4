/**
 * The admin console in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
 * for the console's browser tests: tabs that collect the page's errors, and signing in.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import type { TestServer } from "./server.js";

const CHROMIUM = "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps calling out, which this closed network answers with nothing but delay.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface ConsoleTab {
  page: Page;
  /** What the page logged as errors and threw (a refused script or style would show here). */
  errors: string[];
}

export class ConsoleBrowser {
  private browser: Browser | undefined;

  constructor(private readonly server: TestServer) {}

  /** Launched by the first test that needs it, so that a missing Chromium fails each test (a failing hook would only skip them). */
  private async launched(): Promise<Browser> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as npm test's pretest step does as root`);
    }
    this.browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    return this.browser;
  }

  /** A fresh tab on the console's first page (`hash` e.g. `#/users/ID` to start elsewhere). */
  async open(hash = ""): Promise<ConsoleTab> {
    const page = await (await this.launched()).newPage({ viewport: { width: 1100, height: 600 } });
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${this.server.baseUrl}/console/${hash}`);
    return { page, errors };
  }

  async signIn(page: Page): Promise<void> {
    await page.getByLabel("Access token").fill(this.server.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
  }

  async close(): Promise<void> {
    await this.browser?.close();
  }
}

/** The focused element's id, or its text when it has none. */
export const focused = (page: Page) => page.evaluate("document.activeElement?.id || document.activeElement?.textContent");
