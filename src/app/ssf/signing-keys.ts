/**
 * The transmitter's signing keys (EXTENSIONS.md §4): one made on first start, rotated by an
 * administrator (`ssf rotate-key`), the one rotated out still published in the JWKS so that the
 * SETs it signed can be verified, until the administrator retires it (`ssf retire-key KID`),
 * which waits for the poll receivers to acknowledge the SETs it signed (push SETs are signed as
 * they are sent).
 */
import { DomainError } from "../../domain/errors.js";
import { newKeyPair, publicJwkOf, type SigningKey } from "../../security/set-signing.js";
import type { SsfStore } from "../../store/ssf-store.js";

/**
 * How long a process signs with the key it last read: a rotation made by another process (the
 * CLI, another instance) reaches this one within this time. The old key stays published until
 * it is retired, so what this process signs meanwhile still verifies.
 */
export const SIGNING_KEY_REFRESH_MS = 10_000;

export interface KeyInfo {
  kid: string;
  createdAt: Date;
  /** Absent for the key that signs now. */
  rotatedAt?: Date;
}

export class SigningKeys {
  private cached?: { key: SigningKey; readAt: number };

  constructor(
    private readonly store: Pick<SsfStore, "publishedKeys" | "addFirstKey" | "rotateKey" | "retireKey">,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** On start: makes the first key if there is none; returns its kid then. */
  async ensure(): Promise<string | undefined> {
    if ((await this.store.publishedKeys()).length > 0) return undefined;
    const key = await newKeyPair();
    return (await this.store.addFirstKey({ ...key, createdAt: this.now() })) ? key.kid : undefined;
  }

  /** A new signing key; the one it replaces stays published. */
  async rotate(): Promise<{ kid: string; previous?: string }> {
    const previous = (await this.store.publishedKeys()).find((key) => !key.rotatedAt)?.kid;
    const key = await newKeyPair();
    const at = this.now();
    await this.store.rotateKey({ ...key, createdAt: at }, at);
    this.cached = undefined;
    return previous ? { kid: key.kid, previous } : { kid: key.kid };
  }

  /** Stops publishing (and deletes) a key rotated out: SETs it signed no longer verify. */
  async retire(kid: string): Promise<void> {
    const outcome = await this.store.retireKey(kid);
    if (outcome === "unknown") throw new DomainError("NotFound", undefined, `no published key ${kid}`);
    if (outcome === "current") throw new DomainError("FailedPrecondition", undefined, `key ${kid} signs now: rotate first, then retire it`);
    if (outcome === "waiting") {
      throw new DomainError("FailedPrecondition", undefined, `key ${kid} signed SETs that poll receivers have not acknowledged yet: retire it once they have`);
    }
  }

  async list(): Promise<KeyInfo[]> {
    return (await this.store.publishedKeys()).map(({ kid, createdAt, rotatedAt }) => (rotatedAt ? { kid, createdAt, rotatedAt } : { kid, createdAt }));
  }

  /** The public keys, as `jwks_uri` serves them (RFC 7517). */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    return { keys: (await this.store.publishedKeys()).map((key) => publicJwkOf(key.kid, key.publicJwk)) };
  }

  /** The key to sign with now (see SIGNING_KEY_REFRESH_MS). */
  async current(): Promise<SigningKey> {
    const nowMs = this.now().getTime();
    if (this.cached && nowMs - this.cached.readAt < SIGNING_KEY_REFRESH_MS) return this.cached.key;
    const stored = (await this.store.publishedKeys()).find((key) => !key.rotatedAt);
    if (!stored) throw new Error("the transmitter has no signing key (SigningKeys.ensure runs at start)");
    const key = { kid: stored.kid, privateKeyPem: stored.privateKeyPem };
    this.cached = { key, readAt: nowMs };
    return key;
  }
}
