import {UserFacingError} from "../../src/errors/BotError.ts";
import type {BotError} from "../../src/errors/BotError.ts";
import type {ReplyFile, ReplySink} from "../../src/core/ReplySink.ts";
import type {EditThrottle, ThrottledEditor} from "../shared/EditThrottle.ts";
import type {EditMessage, ReplyPayload, ReplyTarget} from "./ReplyTarget.ts";
import {splitMessage} from "../shared/splitMessage.ts";

/** Discord's limit on a message's content, in characters. */
const DISCORD_MESSAGE_LIMIT = 2000;

/** Where the sink reports its own delivery failures. */
export type DeliveryLog = (message: string, error: unknown) => void;

/** Options of a {@link DiscordReplySink}. */
export interface DiscordReplySinkOptions {
    /** The shared edit budget; one editor per sink. */
    readonly throttle: EditThrottle;
    /** How often typing is re-sent until the first text, in ms. Discord shows it for about 10 s. Defaults to 8000. */
    readonly typingIntervalMs?: number;
    readonly onDeliveryError: DeliveryLog;
}

const NO_MENTIONS = {parse: []} as const satisfies ReplyPayload["allowedMentions"];

/**
 * Shows one turn's answer on Discord: typing until the first text, then one message edited
 * as the text grows (throttled), continued in more messages past 2000 characters, and a
 * final edit with the whole reply (retried once when it fails). Nothing it posts can ping anyone. Sends are serialised,
 * so a final or failure edit never races a streaming one.
 */
export class DiscordReplySink implements ReplySink {
    readonly #target: ReplyTarget;
    readonly #editor: ThrottledEditor;
    readonly #typingIntervalMs: number;
    readonly #onDeliveryError: DeliveryLog;
    readonly #messages: {text: string, edit: EditMessage}[] = [];
    #latest = "";
    #queue: Promise<void> = Promise.resolve();
    #typingTimer: NodeJS.Timeout | null = null;
    #hasText = false;
    #done = false;

    constructor(target: ReplyTarget, options: DiscordReplySinkOptions) {
        this.#target = target;
        this.#typingIntervalMs = options.typingIntervalMs ?? 8000;
        this.#onDeliveryError = options.onDeliveryError;
        this.#editor = options.throttle.editor((text) => this.#serially(() => this.#show(text)));
    }

    async typing(): Promise<void> {
        if (this.#done || this.#hasText || this.#typingTimer !== null) return;
        this.#typingTimer = setInterval(() => void this.#sendTyping(), this.#typingIntervalMs);
        await this.#sendTyping();
    }

    async update(textSoFar: string): Promise<void> {
        if (this.#done || textSoFar.trim() === "") return;
        this.#firstText();
        this.#latest = textSoFar;
        this.#editor.update(textSoFar);
    }

    async complete(text: string, file?: ReplyFile): Promise<void> {
        if (this.#done) return;
        this.#done = true;
        this.#firstText();
        const files = file === undefined ? undefined : [{attachment: Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength), name: file.name}];
        const streamed = this.#latest !== "";
        const final = text.trim() !== "" ? text : streamed ? this.#latest : files === undefined ? "(no reply)" : "";
        try {
            if (!streamed && files !== undefined) {
                // Nothing was streamed, so nothing was sent: the file goes with the text, on its last part.
                this.#editor.cancel();
                await this.#serially(() => this.#show(final, files));
                return;
            }
            this.#editor.update(final);
            await this.#editor.flush().catch(async (error: unknown) => {
                // A failed last edit would leave the answer cut where streaming stopped: the
                // retry sends again every part that does not show its final text yet.
                this.#onDeliveryError("the final edit failed; retrying it", error);
                await this.#serially(() => this.#show(final));
            });
            if (files !== undefined) await this.#serially(async () => void (await this.#target.post({files, allowedMentions: NO_MENTIONS}, false)));
        } catch (error) {
            this.#onDeliveryError("could not deliver a reply", error);
        }
    }

    async fail(error: BotError): Promise<void> {
        if (this.#done) return;
        this.#done = true;
        this.#firstText();
        this.#editor.cancel();
        const notice = `⚠️ ${error instanceof UserFacingError ? error.message : "Something went wrong; the details are in the bot's log."}`;
        try {
            // Whatever was streamed (or about to be) stays; the notice goes after it.
            await this.#serially(() => this.#show(this.#latest === "" ? notice : `${this.#latest}\n\n${notice}`));
        } catch (deliveryError) {
            this.#onDeliveryError("could not deliver a failure notice", deliveryError);
        }
    }

    #firstText(): void {
        this.#hasText = true;
        if (this.#typingTimer !== null) clearInterval(this.#typingTimer);
        this.#typingTimer = null;
    }

    async #sendTyping(): Promise<void> {
        try {
            await this.#target.typing();
        } catch (error) {
            this.#onDeliveryError("could not send typing", error);
        }
    }

    #serially(send: () => Promise<void>): Promise<void> {
        const result = this.#queue.then(send);
        this.#queue = result.catch(() => {});
        return result;
    }

    /** Makes the posted messages show `text`: edits the parts that changed, posts new ones; `files` go with the last part. */
    async #show(text: string, files?: ReplyPayload["files"]): Promise<void> {
        // Discord drops trailing whitespace itself; trimming here spares an edit when a part's
        // closing line break or space arrives.
        const parts = splitMessage(text, DISCORD_MESSAGE_LIMIT)
            .map((part) => part.trimEnd())
            .filter((part) => part !== "");
        // A file may go alone.
        if (parts.length === 0) parts.push("");
        for (const [index, part] of parts.entries()) {
            const withFiles = files !== undefined && index === parts.length - 1 ? {files} : {};
            const posted = this.#messages[index];
            if (posted === undefined) {
                const edit = await this.#target.post({...(part !== "" && {content: part}), ...withFiles, allowedMentions: NO_MENTIONS}, index === 0);
                this.#messages.push({text: part, edit});
            } else if (posted.text !== part) {
                await posted.edit({content: part, allowedMentions: NO_MENTIONS});
                posted.text = part;
            }
        }
    }
}
