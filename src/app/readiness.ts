/** Whether the server should receive traffic: the database answers and no shutdown has begun. */
import { DomainError } from "../domain/errors.js";
import type { StoreLifecycle } from "../store/store.js";

export class Readiness {
  private draining = false;

  constructor(private readonly store: Pick<StoreLifecycle, "ping">) {}

  /** Called when shutdown begins: health checks report NOT_SERVING from now on. */
  startDraining(): void {
    this.draining = true;
  }

  /** Why the server should get no traffic now (for /readyz), or undefined when it should. */
  async notReadyBecause(): Promise<string | undefined> {
    if (this.draining) return "shutting down";
    try {
      await this.store.ping();
      return undefined;
    } catch (err) {
      // A store's own refusal (a full disk) says what an operator can do; any other error may carry SQL.
      return err instanceof DomainError ? err.text : "the database does not answer";
    }
  }

  async isReady(): Promise<boolean> {
    return (await this.notReadyBecause()) === undefined;
  }
}
