/** Whether the server should receive traffic: the database answers and no shutdown has begun. */
import type { StoreLifecycle } from "../store/store.js";

export class Readiness {
  private draining = false;

  constructor(private readonly store: Pick<StoreLifecycle, "ping">) {}

  /** Called when shutdown begins: health checks report NOT_SERVING from now on. */
  startDraining(): void {
    this.draining = true;
  }

  async isReady(): Promise<boolean> {
    if (this.draining) return false;
    try {
      await this.store.ping();
      return true;
    } catch {
      return false;
    }
  }
}
