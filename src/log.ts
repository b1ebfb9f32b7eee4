/** Minimal structured logging to stderr. Never logs stack traces, SQL or request data. */

export function log(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

/** Names the failure without its message, which for database errors can contain SQL. */
export function logInternalError(err: unknown): void {
  const error = err instanceof Error ? err : undefined;
  const code = (error?.cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown } | undefined)?.code;
  log("error", "internal error", { error: error?.name ?? typeof err, code });
}
