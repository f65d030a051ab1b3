import {readFile, stat} from "node:fs/promises";
import {userInfo} from "node:os";
import {basename} from "node:path";
import {createInterface} from "node:readline";
import type {Interface} from "node:readline";
import type {Readable, Writable} from "node:stream";
import type {Adapter, TurnHandler} from "../../src/core/Adapter.ts";
import type {TurnAttachment} from "../../src/core/Turn.ts";
import {ConsoleReplySink} from "./ConsoleReplySink.ts";
import {groupPastes} from "./groupPastes.ts";
import {toTurn} from "./toTurn.ts";

/** Options of {@link ConsoleAdapter}. */
export interface ConsoleAdapterOptions {
    readonly input: Readable;
    readonly output: Writable;
    /** The conversation name (`console:<name>`). */
    readonly conversation: string;
    /** Called when the input ends (end of a piped script, Ctrl-D) or on Ctrl-C: the session is over. */
    readonly onEnd?: () => void;
}

/** Lines typed at a terminal this close together are one paste, hence one turn. */
const pasteWindowMs = 30;

/**
 * Chat in the terminal on one conversation: each line is a turn (at a terminal, each paste of
 * several lines is one), answered before the next is read; `/reset`, `/export FILE`,
 * `/import FILE`, `/status`, `/help` are admin commands (the operator is the admin, and has no
 * cooldown). A piped script on stdin works the same, one line per turn.
 */
export class ConsoleAdapter implements Adapter {
    readonly platform = "console" as const;
    readonly #options: ConsoleAdapterOptions;
    readonly #stopped = new AbortController();
    #lines: Interface | null = null;

    constructor(options: ConsoleAdapterOptions) {
        this.#options = options;
    }

    /** The terminal is there from start to stop. */
    get connected(): boolean {
        return this.#lines !== null && !this.#stopped.signal.aborted;
    }

    async start(onTurn: TurnHandler): Promise<void> {
        const {input, output} = this.#options;
        const interactive = (input as {isTTY?: boolean}).isTTY === true;
        const lines = createInterface({input, ...(interactive ? {output, prompt: "you: "} : {}), terminal: interactive});
        this.#lines = lines;
        // A terminal's Ctrl-C reaches readline, not the process: it ends the session like Ctrl-D.
        lines.on("SIGINT", () => this.#options.onEnd?.());
        if (interactive) output.write(`Chatting in console:${this.#options.conversation}; /help lists the commands, Ctrl-D quits.\n`);
        void this.#serve(lines, onTurn, interactive);
    }

    async stop(): Promise<void> {
        this.#stopped.abort();
        this.#lines?.close();
    }

    async #serve(lines: Interface, onTurn: TurnHandler, interactive: boolean): Promise<void> {
        const userName = safeUserName();
        let lineNumber = 0;
        if (interactive) lines.prompt();
        for await (const line of interactive ? groupPastes(lines, pasteWindowMs) : lines) {
            lineNumber++;
            const turn = toTurn(line, {
                conversation: this.#options.conversation, lineNumber, userName, receivedAt: Date.now(), signal: this.#stopped.signal,
                ...await this.#attachmentFor(line),
            });
            if (turn !== null) await onTurn(turn, new ConsoleReplySink(this.#options.output));
            if (this.#stopped.signal.aborted) break;
            if (interactive) lines.prompt();
        }
        if (!this.#stopped.signal.aborted) this.#options.onEnd?.();
    }

    // `/import FILE` carries the file, like an attachment on a chat platform, read only by the command.
    async #attachmentFor(line: string): Promise<{attachment?: TurnAttachment}> {
        const match = /^\/import\s+(.+)$/i.exec(line.trim());
        if (match === null) return {};
        const path = match[1]!.trim();
        try {
            const {size} = await stat(path);
            return {attachment: {name: basename(path), size, read: () => readFile(path)}};
        } catch (error) {
            this.#options.output.write(`(cannot read ${path}: ${(error as Error).message})\n`);
            return {};
        }
    }
}

function safeUserName(): string {
    try {
        return userInfo().username;
    } catch {
        return "operator";
    }
}
