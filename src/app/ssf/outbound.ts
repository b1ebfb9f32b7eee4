/**
 * Where the service may send requests (EXTENSIONS.md §2: the outbound allow-list, setting
 * OUTBOUND_URL_ALLOW, built with the delivery side). Streams check a push receiver's URL with it
 * when it is given.
 */

/** Why a URL may not be sent to, or undefined when it may. */
export type OutboundUrlCheck = (url: URL) => string | undefined;

/**
 * Until the allow-list is wired in: https only. (The allow-list adds: no loopback or private
 * addresses, and the exceptions an operator allows, such as http://127.0.0.1 in tests.)
 */
export const httpsOnly: OutboundUrlCheck = (url) => (url.protocol === "https:" ? undefined : "only https:// URLs are allowed");
