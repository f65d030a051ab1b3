/** The prompt formats a channel can use (docs/rwkv5.md §10). */
export type ChatFormatName = "chat" | "seed" | "completion";

/**
 * How one exchange is laid out in the model's input. The per-channel state carries the
 * history, so each turn feeds only {@link ChatFormat.userTurn} of the new message, the
 * model continues it, and the reply ends at a {@link ChatFormat.stop} text.
 */
export interface ChatFormat {
    readonly name: ChatFormatName;
    /** The text to feed for a (sanitised) user message, ending where the model continues. */
    userTurn(message: string): string;
    /** Texts that end a reply; they are never posted. */
    readonly stop: readonly string[];
    /**
     * Text to feed after a reply that ended on its stop text, to close the exchange before the
     * next turn (a reply cut by the limit or an abort first needs the stop text itself).
     */
    readonly afterReply: string;
    /** Markers of the format that must not appear in user text, so it cannot forge a turn. */
    readonly markers: readonly string[];
}

const roleNames = ["User", "Assistant"] as const;

/**
 * The formats by name:
 * - `chat`: the World/Mobius format `User: …\n\nAssistant: …\n\n`, no space after the final
 *   `Assistant:` (the model writes it).
 * - `seed`: the seed's training format `<s>User:…\n\n</s>Assistant:…\n\n</s>` (plain text to the
 *   World tokenizer: `<s>` and `</s>` are not special tokens).
 * - `completion`: the "make this content longer" trick, an assistant prefix the model continues.
 */
export const chatFormats: Readonly<Record<ChatFormatName, ChatFormat>> = Object.freeze({
    chat: {
        name: "chat",
        userTurn: (message: string) => `User: ${message}\n\nAssistant:`,
        stop: ["\n\n"],
        afterReply: "",
        markers: [],
    },
    seed: {
        name: "seed",
        userTurn: (message: string) => `<s>User:${message}\n\n</s>Assistant:`,
        stop: ["\n\n"],
        afterReply: "</s>",
        markers: ["<s>", "</s>"],
    },
    completion: {
        name: "completion",
        userTurn: (message: string) => `User: make this content longer:\n${message}\n\nAssistant: ok, longer content is`,
        stop: ["\n\n"],
        afterReply: "",
        markers: [],
    },
});

/** Whether `name` is one of the {@link chatFormats}. */
export function isChatFormatName(name: string): name is ChatFormatName {
    return Object.hasOwn(chatFormats, name);
}

/**
 * Makes user text safe to place in a turn of `format`: line endings become `\n`, blank lines
 * and runs of newlines collapse to one `\n` (the turn separator `\n\n` can never occur), a
 * line that would start with a role name (`User:`, `Assistant:`) is joined to the previous
 * one, the format's markers are removed, and the result is trimmed.
 */
export function sanitizeUserText(text: string, format: ChatFormat): string {
    let clean = text.replace(/\r\n?/g, "\n");
    // Removing one marker can join the halves of another (`<</s>s>`): repeat until none is left.
    for (let previous = ""; previous !== clean;) {
        previous = clean;
        for (const marker of format.markers) clean = clean.split(marker).join("");
    }
    return clean
        .replace(/\n\s*\n/g, "\n")
        .replace(new RegExp(`\\n(?=[ \\t]*(?:${roleNames.join("|")})[ \\t]*:)`, "g"), " ")
        .trim();
}
