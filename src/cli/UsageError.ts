import {BotError} from "../errors/BotError.ts";

/** A bad command line (unknown flag, missing or malformed value): exit code 2 with the usage text. */
export class UsageError extends BotError {
    constructor(message: string) {
        super("cli/usage", message);
    }
}
