import {BotError} from "../errors/BotError.ts";

/** Where the runtime logs: operators read it; it never holds message text, tokens or secrets. */
export interface Logger {
    info(message: string): void;
    warn(message: string, error?: unknown): void;
    error(message: string, error?: unknown): void;
}

/** One line per event on stderr: expected failures by code and message, anything else with its stack. */
export const stderrLogger: Logger = {
    info: (message) => console.error(`[info] ${message}`),
    warn: (message, error) => console.error(`[warn] ${message}${describe(error)}`),
    error: (message, error) => console.error(`[error] ${message}${describe(error)}`),
};

function describe(error: unknown): string {
    if (error === undefined) return "";
    if (error instanceof BotError) return `: ${error.code}: ${error.message}`;
    return `: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
}
