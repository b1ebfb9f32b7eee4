/**
 * The wire names of the OpenID Shared Signals Framework 1.0 transmitter: event types of RISC 1.0
 * and CAEP 1.0, SSF's verification event, and the delivery methods (RFC 8935 push, RFC 8936 poll).
 */

export const ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
export const ACCOUNT_ENABLED = "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
export const ACCOUNT_PURGED = "https://schemas.openid.net/secevent/risc/event-type/account-purged";
export const SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
export const CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
export const VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/**
 * What a stream can be sent (its `events_supported`). Verification events are sent on request
 * whatever a stream asked for, as SSF §8.1.4 allows, so they are not listed.
 */
export const EVENTS_SUPPORTED: readonly string[] = [ACCOUNT_DISABLED, ACCOUNT_ENABLED, ACCOUNT_PURGED, SESSION_REVOKED, CREDENTIAL_CHANGE];

export const PUSH = "urn:ietf:rfc:8935";
export const POLL = "urn:ietf:rfc:8936";
export const DELIVERY_METHODS: readonly string[] = [PUSH, POLL];
