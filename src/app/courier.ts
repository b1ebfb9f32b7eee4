/**
 * The work of what leaves the building that costs CPU: signing SETs (an RS256 signature costs more
 * than the lock that causes it, bench/FINDINGS.md "2026-12-05, delivery") and making the requests
 * to receivers. The senders hand it to a Courier: LocalCourier does it in this process;
 * ProcessCourier (courier-process.ts) has a LocalCourier in a child process of low CPU priority
 * do it, so that calls are answered first and deliveries use the CPU they leave.
 */
import type { CryptoKey } from "jose";
import { importSigningKey, signSet, type SigningKey } from "../security/set-signing.js";
import { post, type PostAnswer, type PostOptions } from "./outbound-post.js";

export interface Courier {
  /** The claims signed as compact SETs with the key, in order. */
  signSets(claims: readonly Record<string, unknown>[], key: SigningKey): Promise<string[]>;
  /** One POST to a receiver, once its URL has passed the allow-list (outbound-post.ts). */
  post(url: URL, body: string, options: PostOptions): Promise<PostAnswer>;
}

/** Keys imported and kept: the one that signs now and the few rotated out before it. */
const KEPT_KEYS = 4;

export class LocalCourier implements Courier {
  private readonly keys = new Map<string, Promise<CryptoKey>>();

  async signSets(claims: readonly Record<string, unknown>[], key: SigningKey): Promise<string[]> {
    const privateKey = await this.imported(key);
    return Promise.all(claims.map((one) => signSet(one, key.kid, privateKey)));
  }

  post(url: URL, body: string, options: PostOptions): Promise<PostAnswer> {
    return post(url, body, options);
  }

  private imported(key: SigningKey): Promise<CryptoKey> {
    let imported = this.keys.get(key.kid);
    if (!imported) {
      if (this.keys.size >= KEPT_KEYS) this.keys.clear();
      imported = importSigningKey(key.privateKeyPem);
      this.keys.set(key.kid, imported);
    }
    return imported;
  }
}
