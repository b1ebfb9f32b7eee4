/** What the shell (main.ts) and the screens know of each other. */
import type { Route } from "../routes.js";

export interface View {
  element: HTMLElement;
  /** Runs once the element is on the page: moves focus to where the screen starts. */
  enter(): void;
  /** The route changed within the same screen (the list's filters): update in place, keeping focus. */
  update?(route: Route): void;
  /** Runs when another screen replaces this one: stops what it follows (its live updates). */
  leave?(): void;
}

export interface Navigator {
  /** Goes to a place; the message is shown and announced there. */
  go(href: string, message?: string): void;
  /** Shows and announces a message in the status line. */
  announce(message: string): void;
}
