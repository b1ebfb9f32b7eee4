/**
 * The transmitter's RSA keys and Security Event Token signatures, with jose. The SSF CAEP
 * interoperability profile asks for RS256 with keys of at least 2048 bits.
 */
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, SignJWT, type CryptoKey } from "jose";

export const SET_ALG = "RS256";
const MODULUS_BITS = 2048;

/**
 * A new key as stored: the private key in PKCS #8 PEM, the public one as a JWK, named by its
 * RFC 7638 thumbprint in hex (base64url may begin with "-", which a command line takes for an option).
 */
export async function newKeyPair(): Promise<{ kid: string; privateKeyPem: string; publicJwk: Record<string, unknown> }> {
  const { publicKey, privateKey } = await generateKeyPair(SET_ALG, { modulusLength: MODULUS_BITS, extractable: true });
  const { kty, n, e } = await exportJWK(publicKey);
  const publicJwk = { kty, n, e };
  return { kid: Buffer.from(await calculateJwkThumbprint(publicJwk), "base64url").toString("hex"), privateKeyPem: await exportPKCS8(privateKey), publicJwk };
}

/** The key that signs now, as stored: it may be sent to the process that signs (app/courier.ts). */
export interface SigningKey {
  kid: string;
  privateKeyPem: string;
}

export const importSigningKey = (privateKeyPem: string): Promise<CryptoKey> => importPKCS8(privateKeyPem, SET_ALG);

/** The public key as the JWKS serves it. */
export const publicJwkOf = (kid: string, publicJwk: Record<string, unknown>) => ({ ...publicJwk, kid, use: "sig", alg: SET_ALG });

/** A compact SET with SSF's explicitly typed header (SSF §4.1.1): typ secevent+jwt, RS256, the key's kid. */
export function signSet(claims: Record<string, unknown>, kid: string, privateKey: CryptoKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: SET_ALG, typ: "secevent+jwt", kid }).sign(privateKey);
}
