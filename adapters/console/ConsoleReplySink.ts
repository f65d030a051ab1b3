import {writeFile} from "node:fs/promises";
import type {Writable} from "node:stream";
import type {ReplyFile, ReplySink} from "../../src/core/ReplySink.ts";
import type {BotError} from "../../src/errors/BotError.ts";
import {UserFacingError} from "../../src/errors/BotError.ts";

/**
 * A reply in the terminal: the text streams as it grows (a terminal needs no edit throttling:
 * only the new characters are written), a file is saved under its name in the working directory.
 */
export class ConsoleReplySink implements ReplySink {
    readonly #out: Writable;
    #written = "";
    #started = false;

    constructor(out: Writable) {
        this.#out = out;
    }

    async typing(): Promise<void> {}

    async update(textSoFar: string): Promise<void> {
        this.#write(textSoFar);
    }

    async complete(text: string, file?: ReplyFile): Promise<void> {
        this.#write(text);
        this.#out.write("\n");
        if (file !== undefined) {
            try {
                await writeFile(file.name, file.bytes);
                this.#out.write(`(saved ${file.name})\n`);
            } catch (error) {
                this.#out.write(`(could not save ${file.name}: ${(error as Error).message})\n`);
            }
        }
    }

    async fail(error: BotError): Promise<void> {
        if (this.#started) this.#out.write("\n");
        const text = error instanceof UserFacingError ? error.message : "Sorry, something went wrong with that reply.";
        this.#out.write(`bot: ${text}\n`);
    }

    // Appends what is new; a text that no longer extends what was shown is written again in full.
    #write(text: string): void {
        if (!this.#started) {
            this.#out.write("bot: ");
            this.#started = true;
        }
        if (text.startsWith(this.#written)) {
            this.#out.write(text.slice(this.#written.length));
        } else {
            this.#out.write(`\n${text}`);
        }
        this.#written = text;
    }
}
