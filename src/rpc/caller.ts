import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "../domain/permissions.js";

/** Set by the authentication interceptor for every call of a protected service. */
export const CALLER = createContextKey<Principal | undefined>(undefined, { description: "authenticated caller" });

export function callerOf(ctx: HandlerContext): Principal {
  const caller = ctx.values.get(CALLER);
  if (!caller) throw new Error("handler reached without an authenticated caller");
  return caller;
}
