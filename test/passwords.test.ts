/** Password hashing in-process: formats, and the limit on hashes running at once. */
import { availableParallelism } from "node:os";
import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import { DomainError } from "../src/domain/errors.js";
import { hashPassword, isSupportedImportedHash, verifyPassword } from "../src/security/passwords.js";

describe("passwords", () => {
  it("stores scrypt hashes that verify only the right password", async () => {
    const hash = await hashPassword("Secr3t-Passw0rd!");
    expect(hash).toMatch(/^\$scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword("Secr3t-Passw0rd!", hash)).toBe(true);
    expect(await verifyPassword("secr3t-Passw0rd!", hash)).toBe(false);
    expect(await hashPassword("Secr3t-Passw0rd!")).not.toBe(hash);
  });

  it("verifies imported bcrypt hashes of every accepted prefix", async () => {
    const hash = bcrypt.hashSync("imported", 4);
    for (const prefix of ["$2a$", "$2b$", "$2y$"]) {
      const variant = prefix + hash.slice(4);
      expect(isSupportedImportedHash(variant)).toBe(true);
      expect(await verifyPassword("imported", variant)).toBe(true);
      expect(await verifyPassword("other", variant)).toBe(false);
    }
    expect(isSupportedImportedHash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")).toBe(false);
  });

  it("runs at most one hash per core and refuses past a bounded queue", async () => {
    const hash = bcrypt.hashSync("queued", 4);
    const slots = availableParallelism();
    const queue = 64 * slots;
    const results = await Promise.allSettled(Array.from({ length: slots + queue + 10 }, () => verifyPassword("queued", hash)));
    const refused = results.filter((r) => r.status === "rejected");
    expect(refused).toHaveLength(10);
    for (const r of refused) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DomainError);
      expect(((r as PromiseRejectedResult).reason as DomainError).kind).toBe("ResourceExhausted");
    }
    expect(results.filter((r) => r.status === "fulfilled" && r.value === true)).toHaveLength(slots + queue);
  });
});
