import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { availableParallelism } from "node:os";
import bcrypt from "bcryptjs";
import { DomainError } from "../domain/errors.js";

// scrypt with N=2^15, r=8: 32 MiB and about 100 ms of one core per hash; runs on libuv's thread pool.
const PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

/** bcrypt hashes imported from other systems (AddHumanUser's hashed_password). */
const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export const isSupportedImportedHash = (hash: string) => BCRYPT.test(hash);

/**
 * At most one hash per core at a time: more would only take CPU from the event loop (and so
 * from every other call) without more sign-ins per second (bench/sign-in.ts). Beyond a bounded
 * queue, callers are told to come back instead of waiting for seconds.
 */
const HASHING_SLOTS = availableParallelism();
const MAX_WAITING = 64 * HASHING_SLOTS;
let hashing = 0;
const waiting: (() => void)[] = [];

async function withHashingSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing < HASHING_SLOTS) hashing++;
  else if (waiting.length >= MAX_WAITING) {
    throw new DomainError("ResourceExhausted", undefined, "too many password checks at once; try again shortly");
  } else {
    // The slot is handed over by the task that finishes, so it is never counted twice.
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else hashing--;
  }
}

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return withHashingSlot(() => deriveNow(password, salt, options));
}

function deriveNow(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, { ...options, maxmem: 256 * options.N! * options.r! }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Returns "$scrypt$N=…,r=…,p=…$salt$key", with salt and key in base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return `$scrypt$N=${PARAMS.N},r=${PARAMS.r},p=${PARAMS.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Checks a password against a stored scrypt or bcrypt hash, without blocking the event loop. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (BCRYPT.test(encoded)) return withHashingSlot(() => bcrypt.compare(password, encoded));
  const [, scheme, params, salt, key] = encoded.split("$");
  if (scheme !== "scrypt" || !params || !salt || !key) return false;
  const options = Object.fromEntries(params.split(",").map((pair) => pair.split("=")).map(([k, v]) => [k, Number(v)]));
  const expected = Buffer.from(key, "base64");
  const actual = await derive(password, Buffer.from(salt, "base64"), options);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
