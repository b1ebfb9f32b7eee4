/** The delivery scenario's three receivers: an SSF push stream, an SSF poll stream, an Actions v2 target. */
export type Kind = "push" | "poll" | "actions";
export const KINDS: readonly Kind[] = ["push", "poll", "actions"];
