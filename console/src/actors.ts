/**
 * Who caused an event, by name: a history event carries only the actor's id, so the page asks
 * for each id's username once. An actor the administrator may not read (or one since deleted)
 * stays shown by its id.
 */
import type { UserClient } from "./api.js";

export const SYSTEM = "SYSTEM";

export class ActorNames {
  private readonly names = new Map<string, Promise<string>>();

  constructor(private readonly users: UserClient) {}

  /** "username (id)", the id alone when the user cannot be read, or SYSTEM for the server itself. */
  label(actorId: string): Promise<string> {
    if (actorId === SYSTEM || actorId === "") return Promise.resolve(actorId || "unknown");
    let name = this.names.get(actorId);
    if (!name) {
      name = this.users.getUserByID({ userId: actorId }).then(
        ({ user }) => (user ? actorLabel(actorId, user.username) : actorId),
        () => actorId,
      );
      this.names.set(actorId, name);
    }
    return name;
  }
}

export const actorLabel = (id: string, name: string): string => (id === SYSTEM || !name ? id : `${name} (${id})`);
