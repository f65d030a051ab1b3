import {BotError} from "../../src/errors/BotError.ts";

/**
 * One log line for an error and its causes: names, codes and messages only. Error objects
 * are never logged whole, because a discord.js request error carries its URL, and the URL
 * of an interaction reply holds the interaction's token.
 */
export function describeError(error: unknown): string {
    const lines: string[] = [];
    for (let current: unknown = error, depth = 0; current !== undefined && depth < 4; depth += 1) {
        if (current instanceof Error) {
            const code = current instanceof BotError ? ` (${current.code})` : "";
            lines.push(`${current.name}${code}: ${current.message}`);
            current = current.cause;
        } else {
            lines.push(String(current));
            current = undefined;
        }
    }
    return lines.join(" ← caused by ");
}
