import { createHash, randomBytes } from "node:crypto";
import { Secret } from "../domain/secret.js";

/** A new bearer token: 256 random bits, shown to its owner once. */
export const newToken = () => randomBytes(32).toString("base64url");

/** Tokens are stored and looked up only by this hash. */
export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** A new Actions v2 signing key: 256 random bits, the HMAC key of every request to its target. */
export const newSigningKey = () => new Secret(randomBytes(32).toString("base64url"));
