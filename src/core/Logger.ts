/** Structured fields of a log line: ids, counts and timings; never message text, tokens or secrets. */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/**
 * Where the runtime logs: operators read it. One logger is made at start-up (`src/ops/createLogger.ts`)
 * and passed everywhere, adapters included; `child` adds fields every line of a part carries.
 * It never holds message text, tokens or secrets at info level or above.
 */
export interface Logger {
    debug(message: string, fields?: LogFields): void;
    info(message: string, fields?: LogFields): void;
    warn(message: string, error?: unknown, fields?: LogFields): void;
    error(message: string, error?: unknown, fields?: LogFields): void;
    child(fields: LogFields): Logger;
}
