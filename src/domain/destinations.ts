/**
 * The names of the outbox's destinations (EXTENSIONS.md §2): "target:<id>" for an Actions v2
 * target, "stream:<id>" for a Shared Signals stream.
 */
export type DestinationKind = "target" | "stream";

const NAME = /^(target|stream):(.+)$/s;

/** What a destination names; undefined for a name of no kind this server sends to. */
export function parseDestination(destination: string): { kind: DestinationKind; id: string } | undefined {
  const match = NAME.exec(destination);
  return match ? { kind: match[1] as DestinationKind, id: match[2]! } : undefined;
}

export const destinationName = (kind: DestinationKind, id: string) => `${kind}:${id}`;
