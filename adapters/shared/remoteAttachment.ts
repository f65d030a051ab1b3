import type {TurnAttachment} from "../../src/core/Turn.ts";
import {UserFacingError} from "../../src/errors/BotError.ts";
import {fileTooLarge, readBodyLimited} from "./readBodyLimited.ts";

/** A file a platform hosts for a message or command. */
export interface RemoteFile {
    readonly name: string;
    readonly url: string;
    /** In bytes, as the platform declares it; the download is checked again. */
    readonly size: number;
    /** Request headers, e.g. the bot token for Slack's private files. */
    readonly headers?: Readonly<Record<string, string>>;
}

/** How a {@link remoteAttachment} is downloaded. */
export interface RemoteAttachmentOptions {
    readonly maxBytes: number;
    /** Aborts the download (the turn's signal). */
    readonly signal: AbortSignal;
    /** Gives up on a download that takes longer, counted from `read()`. */
    readonly timeoutMs?: number;
    /** The platform's name, for the message when the download fails. */
    readonly platform: string;
}

/**
 * A hosted file as a lazy {@link TurnAttachment}: nothing is downloaded until a command that
 * needs it (after its permission check) calls `read()`, so anyone may attach a file without
 * making the bot fetch it. `read()` refuses a file over `maxBytes`, declared or actual, without
 * holding more than the limit plus one chunk, and reports download failures as a
 * {@link UserFacingError} with the cause, for the log.
 */
export function remoteAttachment(file: RemoteFile, options: RemoteAttachmentOptions): TurnAttachment {
    const {maxBytes, platform, timeoutMs} = options;
    return {
        name: file.name,
        size: file.size,
        // The URL only: credentials (`headers`) are added again by the adapter of the process that reads it.
        address: {url: file.url},
        async read() {
            if (file.size > maxBytes) throw fileTooLarge(maxBytes);
            const signal = timeoutMs === undefined ? options.signal : AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]);
            let response: Response;
            try {
                response = await fetch(file.url, {signal, ...(file.headers !== undefined && {headers: {...file.headers}})});
                if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
            } catch (error) {
                throw new UserFacingError("adapter/attachment_unreadable", `Could not download that file from ${platform}; please try again.`, {cause: error});
            }
            if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
                await response.body?.cancel().catch(() => undefined);
                throw fileTooLarge(maxBytes);
            }
            try {
                return await readBodyLimited(response.body, maxBytes);
            } catch (error) {
                if (error instanceof UserFacingError) throw error;
                throw new UserFacingError("adapter/attachment_unreadable", `Could not download that file from ${platform}; please try again.`, {cause: error});
            }
        },
    };
}
