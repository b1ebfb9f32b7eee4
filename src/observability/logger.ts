/** Structured JSON logs (pino). Nothing here logs request bodies, tokens or passwords. */
import { pino, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Logs to stdout (the server) or stderr (the CLI, whose stdout is its answer). `base` goes into
 * every line: with several server processes, which one wrote it.
 */
export function createLogger(level: string, destination: 1 | 2 = 1, base?: Record<string, unknown>): Logger {
  return pino(
    {
      level,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: destination, sync: true }),
  );
}

/** Names the failure without its message or stack, which for database errors can contain SQL. */
export function logInternalError(logger: Logger, err: unknown): void {
  const error = err instanceof Error ? err : undefined;
  const code = (error?.cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown } | undefined)?.code;
  logger.error({ error: error?.name ?? typeof err, code }, "internal error");
}
