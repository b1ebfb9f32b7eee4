/** How a dialog that runs a call ends: declined, done with the call's answer, or failed with its error. */
export type Outcome<T> = { kind: "cancelled" } | { kind: "done"; value: T } | { kind: "failed"; error: unknown };

export const settle = <T>(call: Promise<T>): Promise<Outcome<T>> =>
  call.then(
    (value) => ({ kind: "done", value }),
    (error: unknown) => ({ kind: "failed", error }),
  );
