import {parseArgs as parseNodeArgs} from "node:util";
import type {CliOptions, ParsedArgs} from "./CliCommand.ts";
import {UsageError} from "./UsageError.ts";

/**
 * Parses `argv` (the arguments after the command name) strictly against
 * `options`: unknown flags and flags missing their value throw {@link UsageError}.
 */
export function parseArgs(argv: readonly string[], options: CliOptions): ParsedArgs {
    let parsed: ReturnType<typeof parseNodeArgs>;
    try {
        parsed = parseNodeArgs({args: [...argv], options, strict: true, allowPositionals: true});
    } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    return {
        values,
        positionals: parsed.positionals,
        string(name) {
            const value = values[name];
            return typeof value === "string" ? value : undefined;
        },
        requireString(name) {
            const value = values[name];
            if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
            return value;
        },
        flag(name) {
            return values[name] === true;
        },
    };
}
