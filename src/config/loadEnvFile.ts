import {ConfigError} from "../errors/BotError.ts";

/**
 * Reads `.env` from the working directory into `process.env` when there is one; a variable
 * already in the environment wins over the file. Every entry point (bot, CLI, migrations,
 * benchmarks) calls this first, so one `.env` configures all of them the same way.
 *
 * Node's own `process.loadEnvFile` (≥ 20.12) rather than dotenv: it is the parser of
 * `node --env-file`, so the file means the same whichever way it is given, and it adds no dependency.
 *
 * @throws ConfigError `config/env_file` when `.env` exists but cannot be read or parsed.
 */
export function loadEnvFile(file = ".env"): void {
    try {
        process.loadEnvFile(file);
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
        throw new ConfigError("config/env_file", `Cannot read ${file}: ${(error as Error).message}`, {cause: error});
    }
}
