/** How deep the JSON bodies of requests may nest: deeper ones are refused, not walked. */

/** Far deeper than any request of the API; reading a body into a message recurses, which would overflow. */
export const MAX_JSON_DEPTH = 100;

/** Without recursion, so that the check itself cannot overflow the stack. */
export function nestedDeeperThan(root: object, limit: number): boolean {
  const pending: [unknown, number][] = [[root, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth] = next;
    if (value === null || typeof value !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return false;
}
