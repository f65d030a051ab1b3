import {UserFacingError} from "../../src/errors/BotError.ts";
import type {TurnAttachment} from "../../src/app/Turn.ts";

/** The parts of a discord.js `Attachment` that reading it needs. */
export interface AttachmentSource {
    readonly name: string;
    readonly url: string;
    /** In bytes, as Discord reports it. */
    readonly size: number;
}

/**
 * Downloads a file attached to a message or command. Rejects with a {@link UserFacingError}
 * when it is larger than `maxBytes` or cannot be read (the cause goes with it, for the log).
 */
export async function readAttachment(source: AttachmentSource, maxBytes: number, signal: AbortSignal): Promise<TurnAttachment> {
    const tooLarge = () => new UserFacingError("adapter/attachment_too_large", `That file is too large: this bot reads files up to ${Math.floor(maxBytes / 1024 / 1024)} MB.`);
    if (source.size > maxBytes) throw tooLarge();
    let bytes: Uint8Array;
    try {
        const response = await fetch(source.url, {signal});
        if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
        bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
        throw new UserFacingError("adapter/attachment_unreadable", "Could not download that file from Discord; please try again.", {cause: error});
    }
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return {name: source.name, bytes};
}
