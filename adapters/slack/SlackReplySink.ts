import {UserFacingError} from "../../src/errors/BotError.ts";
import type {BotError} from "../../src/errors/BotError.ts";
import type {ReplyFile, ReplySink} from "../../src/core/ReplySink.ts";
import type {EditThrottle, ThrottledEditor} from "../shared/EditThrottle.ts";
import {splitMessage} from "../shared/splitMessage.ts";

/** The Slack calls one reply needs, bound to its channel (and thread). */
export interface SlackMessaging {
    /** `chat.postMessage`; resolves to the new message's `ts`. */
    post(text: string): Promise<string>;
    /** `chat.update` of a message posted by `post`. */
    edit(ts: string, text: string): Promise<void>;
    /** `chat.delete` of a message posted by `post`. */
    remove(ts: string): Promise<void>;
    /** `files.uploadV2` into the same channel (and thread). */
    upload(file: ReplyFile): Promise<void>;
    /** A note only the requester sees (a slash command's `response_url`), when there is one. */
    notice?: (text: string) => Promise<void>;
}

/** Presentation settings of a {@link SlackReplySink}. */
export interface SlackReplySinkOptions {
    /** Longest message, in characters, before the reply continues in another one. */
    readonly splitAt?: number;
    /** Text of the placeholder posted by `typing()`; null posts none (slash commands). */
    readonly placeholder?: string | null;
    /** Delivery failures, for the log (never shown as is). */
    readonly onError: (message: string, error: unknown) => void;
}

interface PostedMessage {
    readonly ts: string;
    readonly editor: ThrottledEditor;
    /** The text last handed to the editor (or posted). */
    shown: string;
}

/**
 * One reply in a Slack thread: a placeholder message, then throttled `chat.update`s of the
 * growing text, continued in follow-up messages past `splitAt` characters (Slack refuses
 * messages long before its documented 40k). Model text is escaped so it cannot ping anyone.
 */
export class SlackReplySink implements ReplySink {
    readonly #splitAt: number;
    readonly #placeholder: string | null;
    readonly #onError: SlackReplySinkOptions["onError"];
    readonly #messages: PostedMessage[] = [];
    #latest: string[] | null = null;
    #pump: Promise<void> | null = null;
    #finished = false;
    #postFailed = false;

    constructor(
        private readonly messaging: SlackMessaging,
        private readonly throttle: EditThrottle,
        options: SlackReplySinkOptions,
    ) {
        this.#splitAt = options.splitAt ?? 3500;
        this.#placeholder = options.placeholder === undefined ? "_…thinking_" : options.placeholder;
        this.#onError = options.onError;
    }

    async typing(): Promise<void> {
        if (this.#finished || this.#placeholder === null || this.#messages.length > 0 || this.#latest !== null) return;
        this.#show([this.#placeholder]);
        await this.#pump;
    }

    async update(textSoFar: string): Promise<void> {
        if (this.#finished || textSoFar === "") return;
        this.#show(this.#chunks(textSoFar));
    }

    async complete(text: string, file?: ReplyFile): Promise<void> {
        if (this.#finished) return;
        this.#finished = true;
        await this.#pump;
        const chunks = text.trim() === "" ? (file === undefined ? ["_(empty reply)_"] : []) : this.#chunks(text);
        await this.#settle(chunks);
        if (file === undefined) return;
        try {
            await this.messaging.upload(file);
        } catch (error) {
            this.#onError(`file upload of ${file.name} failed`, error);
            await this.#say("I couldn't upload the file here.");
        }
    }

    async fail(error: BotError): Promise<void> {
        if (this.#finished) return;
        this.#finished = true;
        await this.#pump;
        const line = error instanceof UserFacingError ? error.message : `Sorry, something went wrong (${error.code}).`;
        const onlyPlaceholder = this.#messages.length === 1 && this.#messages[0]?.shown === this.#placeholder;
        if (this.messaging.notice !== undefined) {
            if (onlyPlaceholder) await this.#settle([]);
            else await this.#settle(this.#messages.map((message) => message.shown));
            await this.#say(`:warning: ${escapeMrkdwn(line)}`);
            return;
        }
        if (onlyPlaceholder || this.#messages.length === 0) await this.#settle([`:warning: ${escapeMrkdwn(line)}`]);
        else {
            await this.#settle(this.#messages.map((message) => message.shown));
            await this.#say(`:warning: ${escapeMrkdwn(line)}`);
        }
    }

    /**
     * Split before escaping, so that no entity is cut in half, with each window sized so that
     * its escaped text, which is what Slack measures, fits `splitAt` (`&` alone grows to five).
     */
    #chunks(text: string): string[] {
        const chunks: string[] = [];
        for (let rest = text; rest !== ""; ) {
            const [part = rest] = splitMessage(rest, Math.max(2, escapedFit(rest, this.#splitAt)));
            chunks.push(escapeMrkdwn(part));
            rest = rest.slice(part.length);
        }
        return chunks.length > 0 ? chunks : [""];
    }

    /** Makes the latest chunks visible: new messages are posted in order, old ones edited (throttled). */
    #show(chunks: string[]): void {
        this.#latest = chunks;
        this.#pump ??= this.#run().finally(() => {
            this.#pump = null;
        });
    }

    async #run(): Promise<void> {
        for (let latest = this.#latest; latest !== null && !this.#postFailed; latest = this.#latest) {
            this.#latest = null;
            for (const [index, chunk] of latest.entries()) {
                const message = this.#messages[index];
                if (message === undefined) {
                    if (!(await this.#post(chunk))) return;
                } else if (message.shown !== chunk) {
                    message.shown = chunk;
                    message.editor.update(chunk);
                }
            }
        }
    }

    async #post(text: string): Promise<boolean> {
        try {
            const ts = await this.messaging.post(text);
            const editor = this.throttle.editor((next) => this.messaging.edit(ts, next));
            this.#messages.push({ts, editor, shown: text});
            return true;
        } catch (error) {
            this.#postFailed = true;
            this.#onError("posting a reply failed", error);
            return false;
        }
    }

    /** Final state: exactly `chunks`, every edit flushed, surplus messages removed. */
    async #settle(chunks: readonly string[]): Promise<void> {
        this.#postFailed = false;
        for (const [index, chunk] of chunks.entries()) {
            const message = this.#messages[index];
            if (message === undefined) {
                if (!(await this.#post(chunk))) {
                    await this.#notice("I couldn't post my answer in this channel (am I a member?).");
                    return;
                }
                continue;
            }
            message.shown = chunk;
            message.editor.update(chunk);
            try {
                await message.editor.flush();
            } catch (error) {
                this.#onError("final edit failed; posting the text instead", error);
                await this.#say(chunk);
            }
        }
        for (const message of this.#messages.splice(chunks.length)) {
            message.editor.cancel();
            await this.messaging.remove(message.ts).catch((error: unknown) => this.#onError("removing a message failed", error));
        }
    }

    /** A short line of our own: privately to the requester when possible, else in the thread. */
    async #say(text: string): Promise<void> {
        if (this.messaging.notice !== undefined) return this.#notice(text);
        await this.messaging.post(text).catch((error: unknown) => this.#onError("posting a notice failed", error));
    }

    async #notice(text: string): Promise<void> {
        await this.messaging.notice?.(text).catch((error: unknown) => this.#onError("responding failed", error));
    }
}

/** How many leading characters of `text` escape to at most `limit` characters. */
function escapedFit(text: string, limit: number): number {
    let length = 0;
    for (let index = 0; index < text.length; index += 1) {
        const char = text[index];
        length += char === "&" ? 5 : char === "<" || char === ">" ? 4 : 1;
        if (length > limit) return index;
    }
    return text.length;
}

/** Slack reads `<…>` as mentions and links: escaping `&`, `<` and `>` keeps model text inert. */
export function escapeMrkdwn(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
