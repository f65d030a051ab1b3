import {UserFacingError} from "../../src/errors/BotError.ts";

/** The refusal of a file over `maxBytes`. */
export function fileTooLarge(maxBytes: number): UserFacingError {
    return new UserFacingError("adapter/attachment_too_large", `That file is too large (max ${Math.floor(maxBytes / 1024 / 1024)} MB).`);
}

/**
 * Reads a response body of at most `maxBytes`. Stops reading (and cancels the stream) as soon
 * as the count passes the limit, so no more than the limit plus one chunk is ever held; the
 * sender's declared size is not trusted. Rejects with {@link fileTooLarge} then.
 */
export async function readBodyLimited(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
    if (body === null) return new Uint8Array();
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
            await reader.cancel().catch(() => undefined);
            throw fileTooLarge(maxBytes);
        }
        chunks.push(value);
    }
    if (chunks.length === 1) return chunks[0]!;
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
    }
    return bytes;
}
