/** Structured JSON logs (pino). Nothing here logs request bodies, tokens or passwords. */
import { pino, type Logger } from "pino";

export type { Logger };

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Logs to stdout (the server) or stderr (the CLI, whose stdout is its answer). */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: undefined,
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
