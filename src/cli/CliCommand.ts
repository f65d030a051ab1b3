import type {ParseArgsConfig} from "node:util";

/** The flag declarations of a command, in `node:util` `parseArgs` form. */
export type CliOptions = NonNullable<ParseArgsConfig["options"]>;

/** A command line parsed against a command's {@link CliOptions}. */
export interface ParsedArgs {
    /** Every flag given, by long name (`--tokens 1,2` → `values.tokens === "1,2"`). */
    readonly values: Readonly<Record<string, string | boolean | undefined>>;
    /** Arguments that are not flags, in order. */
    readonly positionals: readonly string[];
    /** The value of a string flag, or `undefined` when absent. */
    string(name: string): string | undefined;
    /** The value of a string flag; a missing one is a usage error (exit code 2). */
    requireString(name: string): string;
    /** Whether a boolean flag was given. */
    flag(name: string): boolean;
}

/**
 * One `rwkv-bot` CLI command, one module each under `src/cli/commands/`
 * exporting `export const command: CliCommand`; `src/cli/main.ts` holds the table.
 */
export interface CliCommand {
    /** The word after `cli --`, e.g. `logits`. */
    readonly name: string;
    /** One line for the command list. */
    readonly summary: string;
    /** The usage text printed with `--help` and on usage errors (flags and what they do). */
    readonly usage: string;
    /** The flags it accepts; anything else is a usage error. */
    readonly options: CliOptions;
    /**
     * Runs the command. Returns the process exit code (0 on success). Throw a
     * `UsageError` (./UsageError.ts) for bad invocations (exit 2) and a `BotError` for
     * expected failures (one `error:` line, exit 1).
     */
    run(args: ParsedArgs): Promise<number>;
}
