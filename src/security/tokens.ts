import { createHash, randomBytes } from "node:crypto";

/** A new bearer token: 256 random bits, shown to its owner once. */
export const newToken = () => randomBytes(32).toString("base64url");

/** Tokens are stored and looked up only by this hash. */
export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");
