import type {Logger} from "../../src/core/Logger.ts";
import type {BotError} from "../../src/errors/BotError.ts";
import type {ReplyFile, ReplySink} from "../../src/core/ReplySink.ts";
import type {ReplyAddress} from "../../src/core/Turn.ts";
import type {EditThrottle, ThrottledEditor} from "./EditThrottle.ts";
import {splitMessage} from "./splitMessage.ts";

/**
 * What one platform gives a {@link StreamingReplySink}: its calls for one reply (bound to the
 * channel or thread it answers in), its limits and its escaping. `Message` is whatever the
 * platform needs to edit a message it posted.
 */
export interface MessageSurface<Message> {
    /** Longest message, in characters after escaping, before the reply continues in another one. */
    readonly maxLength: number;
    /** Makes model text inert (no mentions, no markup); applied per part, measured per character. */
    readonly escape?: (text: string) => string;
    /** The platform drops a message's trailing whitespace: trimming parts spares edits, and a blank part is not sent. */
    readonly trimsTrailingWhitespace?: boolean;
    /** Shown by `typing()` as the first message, replaced by the answer; the alternative to `typing`. */
    readonly placeholder?: string;
    /** Shows the bot as working; re-sent every `typingIntervalMs` until the first text. */
    readonly typing?: () => Promise<void>;
    readonly typingIntervalMs?: number;
    /** Shown when the reply has no text and no file. */
    readonly emptyReply: string;
    /** Posts one part; `first` answers the event, later ones continue it. `file` is given only with `filesInline`. */
    post(text: string, first: boolean, file?: ReplyFile): Promise<Message>;
    edit(message: Message, text: string): Promise<void>;
    /** Deletes a posted part the final text no longer needs; without it the part stays. */
    readonly remove?: (message: Message) => Promise<void>;
    /** Whether `post` can carry a file: an unstreamed reply then sends its file with its last part. */
    readonly filesInline: boolean;
    /** Delivers a file after the text. */
    sendFile(file: ReplyFile): Promise<void>;
    /** The line shown for a failed turn, escaped; never the cause of an internal error. */
    failureLine(error: BotError): string;
    /** `"inline"`: the line is appended to what was streamed; `"own message"`: it follows it (or replaces the placeholder). */
    readonly failure: "inline" | "own message";
    /** A note only the requester sees, when the platform offers one: the sink's own lines go there. */
    readonly notice?: (text: string) => Promise<void>;
    /** What identifies a posted message in the platform's reply address (see `ReplySink.onPosted`); absent: replies are not resumable. */
    readonly addressOf?: (message: Message) => ReplyAddress;
}

interface PostedMessage<Message> {
    readonly message: Message;
    readonly editor: ThrottledEditor;
    /** The text last handed to the editor (or posted). */
    shown: string;
}

/**
 * Streams one turn's answer onto any platform: a waiting sign (typing or a placeholder), then
 * posted parts edited as the text grows — each part's edits throttled and coalesced, new parts
 * posted in order — then a final delivery that flushes every part, retries a failed final edit
 * once (a failed last edit would leave the answer cut where streaming stopped), removes parts the
 * final text no longer needs and sends the file. Sends are serialised, so a final or failure
 * edit never races a streaming one.
 */
export class StreamingReplySink<Message> implements ReplySink {
    readonly #surface: MessageSurface<Message>;
    readonly #throttle: EditThrottle;
    readonly #log: Logger;
    readonly #messages: PostedMessage<Message>[] = [];
    /** The raw text streamed so far. */
    #latest = "";
    #pending: string[] | null = null;
    #pump: Promise<void> | null = null;
    #typingTimer: NodeJS.Timeout | null = null;
    #hasText = false;
    #done = false;
    #postFailed = false;
    readonly #postedListeners: ((at: ReplyAddress) => void)[] = [];

    /**
     * `log` gets the sink's own delivery failures (never shown as is). `resume`: a message another
     * sink posted for this reply (a process that died mid-reply), edited into this one's text.
     */
    constructor(surface: MessageSurface<Message>, throttle: EditThrottle, log: Logger, resume?: Message) {
        this.#surface = surface;
        this.#throttle = throttle;
        this.#log = log;
        if (resume !== undefined) {
            // Shown: unknown, so the final delivery edits it whatever it holds.
            this.#messages.push({message: resume, editor: throttle.editor((next) => surface.edit(resume, next), ""), shown: "\u0000"});
        }
    }

    onPosted(listener: (at: ReplyAddress) => void): void {
        const {addressOf} = this.#surface;
        if (addressOf === undefined) return;
        const first = this.#messages[0];
        if (first !== undefined) listener(addressOf(first.message));
        else this.#postedListeners.push(listener);
    }

    async typing(): Promise<void> {
        if (this.#done || this.#hasText) return;
        const {placeholder, typing} = this.#surface;
        if (placeholder !== undefined) {
            if (this.#messages.length > 0 || this.#pump !== null) return;
            this.#show([placeholder]);
            await this.#pump;
        } else if (typing !== undefined && this.#typingTimer === null) {
            this.#typingTimer = setInterval(() => void this.#sendTyping(typing), this.#surface.typingIntervalMs ?? 8000);
            await this.#sendTyping(typing);
        }
    }

    async update(textSoFar: string): Promise<void> {
        if (this.#done || textSoFar.trim() === "") return;
        this.#firstText();
        this.#latest = textSoFar;
        this.#show(this.#parts(textSoFar));
    }

    async complete(text: string, file?: ReplyFile): Promise<void> {
        if (this.#done) return;
        this.#done = true;
        this.#firstText();
        await this.#pump;
        const final = text.trim() !== "" ? text : this.#latest !== "" ? this.#latest : file === undefined ? this.#surface.emptyReply : "";
        const parts = this.#parts(final);
        if (file !== undefined && this.#surface.filesInline && this.#messages.length === 0) {
            // Nothing was posted, so the file goes with the text, on its last part.
            await this.#settle(parts.length === 0 ? [""] : parts, file);
            return;
        }
        await this.#settle(parts);
        if (file === undefined) return;
        try {
            await this.#surface.sendFile(file);
        } catch (error) {
            this.#log.warn(`could not send the file ${file.name}`, error);
        }
    }

    async fail(error: BotError): Promise<void> {
        if (this.#done) return;
        this.#done = true;
        this.#firstText();
        await this.#pump;
        const line = this.#surface.failureLine(error);
        if (this.#surface.failure === "inline") {
            // Whatever was streamed stays; the line goes after it.
            await this.#settle(this.#parts(this.#latest === "" ? line : `${this.#latest}\n\n${line}`));
            return;
        }
        const nothingStreamed = this.#latest === "";
        if (nothingStreamed && this.#surface.notice === undefined) {
            await this.#settle([line]);
            return;
        }
        await this.#settle(nothingStreamed ? [] : this.#messages.map((posted) => posted.shown));
        await this.#say(line);
    }

    /**
     * Cuts raw text into escaped parts: each window is sized so that its escaped text, which is
     * what the platform measures, fits, and is split before escaping so no entity is cut in half.
     */
    #parts(text: string): string[] {
        const {escape, maxLength, trimsTrailingWhitespace} = this.#surface;
        const parts: string[] = [];
        for (let rest = text; rest !== ""; ) {
            const window = escape === undefined ? Math.min(rest.length, maxLength) : escapedFit(rest, maxLength, escape);
            const [part = rest] = splitMessage(rest, Math.max(2, window));
            parts.push(escape === undefined ? part : escape(part));
            rest = rest.slice(part.length);
        }
        return trimsTrailingWhitespace === true ? parts.map((part) => part.trimEnd()).filter((part) => part !== "") : parts;
    }

    #firstText(): void {
        this.#hasText = true;
        if (this.#typingTimer !== null) clearInterval(this.#typingTimer);
        this.#typingTimer = null;
    }

    async #sendTyping(typing: () => Promise<void>): Promise<void> {
        try {
            await typing();
        } catch (error) {
            this.#log.warn("could not send typing", error);
        }
    }

    /** Makes the newest parts visible: new parts are posted in order, posted ones edited (throttled). */
    #show(parts: string[]): void {
        this.#pending = parts;
        this.#pump ??= this.#run().finally(() => {
            this.#pump = null;
        });
    }

    async #run(): Promise<void> {
        for (let parts = this.#pending; parts !== null && !this.#postFailed; parts = this.#pending) {
            this.#pending = null;
            for (const [index, part] of parts.entries()) {
                const posted = this.#messages[index];
                if (posted === undefined) {
                    if (!(await this.#post(part))) return;
                } else if (posted.shown !== part) {
                    posted.shown = part;
                    posted.editor.update(part);
                }
            }
        }
    }

    async #post(text: string, file?: ReplyFile): Promise<boolean> {
        try {
            const message = await this.#surface.post(text, this.#messages.length === 0, file);
            const editor = this.#throttle.editor((next) => this.#surface.edit(message, next), text);
            this.#messages.push({message, editor, shown: text});
            if (this.#messages.length === 1 && this.#surface.addressOf !== undefined) {
                const at = this.#surface.addressOf(message);
                for (const listener of this.#postedListeners.splice(0)) listener(at);
            }
            return true;
        } catch (error) {
            // Streaming stops: the final delivery tries once more.
            this.#postFailed = true;
            this.#log.warn("could not post a reply", error);
            return false;
        }
    }

    /** Final state: exactly `parts`, every edit flushed (a failed one retried once), surplus parts removed. */
    async #settle(parts: readonly string[], file?: ReplyFile): Promise<void> {
        for (const [index, part] of parts.entries()) {
            const posted = this.#messages[index];
            if (posted === undefined) {
                if (!(await this.#post(part, index === parts.length - 1 ? file : undefined))) {
                    await this.#notice("I couldn't post my answer in this channel (am I a member?).");
                    return;
                }
                continue;
            }
            if (posted.shown !== part) {
                posted.shown = part;
                posted.editor.update(part);
            }
            await posted.editor.flush().catch(async (error: unknown) => {
                this.#log.warn("the final edit failed; retrying it", error);
                await this.#surface.edit(posted.message, part).catch(async (retryError: unknown) => {
                    this.#log.warn("the final edit failed again; posting the text instead", retryError);
                    await this.#say(part);
                });
            });
            posted.editor.cancel();
        }
        for (const surplus of this.#messages.splice(parts.length)) {
            surplus.editor.cancel();
            await this.#surface.remove?.(surplus.message).catch((error: unknown) => this.#log.warn("could not remove a message", error));
        }
    }

    /** A short line of the sink's own: privately to the requester when possible, else as a new message. */
    async #say(text: string): Promise<void> {
        if (this.#surface.notice !== undefined) return this.#notice(text);
        await this.#surface.post(text, this.#messages.length === 0).catch((error: unknown) => this.#log.warn("could not post a notice", error));
    }

    async #notice(text: string): Promise<void> {
        await this.#surface.notice?.(text).catch((error: unknown) => this.#log.warn("could not send a private notice", error));
    }
}

/** How many leading characters of `text` escape to at most `limit` characters. */
function escapedFit(text: string, limit: number, escape: (text: string) => string): number {
    let length = 0;
    for (let index = 0; index < text.length; index += 1) {
        length += escape(text[index] as string).length;
        if (length > limit) return index;
    }
    return text.length;
}
