import { createContextKey } from "@connectrpc/connect";
import type { CallingClient } from "../edge/call-record.js";

/** Set by the dispatcher for every call that comes over the network; absent in in-memory calls. */
export const CALLING_CLIENT = createContextKey<CallingClient | undefined>(undefined, { description: "calling client" });
