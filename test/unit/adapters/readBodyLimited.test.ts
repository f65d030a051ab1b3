import {createServer} from "node:http";
import type {AddressInfo} from "node:net";
import {describe, expect, it} from "vitest";
import {readBodyLimited} from "../../../adapters/shared/readBodyLimited.ts";
import {remoteAttachment} from "../../../adapters/shared/remoteAttachment.ts";
import {UserFacingError} from "../../../src/errors/BotError.ts";

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** An endless body that counts the bytes handed out and whether it was cancelled. */
function endlessBody() {
    const seen = {bytes: 0, cancelled: false};
    const body = new ReadableStream<Uint8Array>({
        pull(controller) {
            seen.bytes += CHUNK;
            controller.enqueue(new Uint8Array(CHUNK).fill(7));
        },
        cancel() {
            seen.cancelled = true;
        },
    }, {highWaterMark: 0});
    return {body, seen};
}

describe("readBodyLimited", () => {
    it("returns a body within the limit whole", async () => {
        const parts = [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5, 6])];
        const body = new ReadableStream<Uint8Array>({start(controller) {
            for (const part of parts) controller.enqueue(part);
            controller.close();
        }});
        expect(await readBodyLimited(body, 6)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6]));
        expect(await readBodyLimited(null, 6)).toEqual(new Uint8Array());
    });

    it("refuses a body over the limit after reading at most the limit and one chunk, and cancels it", async () => {
        const {body, seen} = endlessBody();
        const refusal = await readBodyLimited(body, MiB).catch((error: unknown) => error);
        expect(refusal).toBeInstanceOf(UserFacingError);
        expect((refusal as UserFacingError).message).toBe("That file is too large (max 1 MB).");
        expect(seen.bytes).toBeLessThanOrEqual(MiB + CHUNK);
        expect(seen.cancelled).toBe(true);
    });
});

describe("remoteAttachment", () => {
    it("downloads nothing until read, refuses a declared or actual size over the limit, and reads one within it", async () => {
        const requests: string[] = [];
        const server = createServer((request, response) => {
            requests.push(request.url ?? "");
            if (request.url === "/endless") {
                // No content-length: only counting while reading can stop it.
                const write = () => {
                    while (response.write(new Uint8Array(CHUNK))) { /* fill the socket buffer */ }
                };
                response.on("drain", write);
                write();
                return;
            }
            response.end(new Uint8Array([9, 8, 7]));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const options = {maxBytes: MiB, signal: new AbortController().signal, platform: "Test"};
        try {
            const small = remoteAttachment({name: "s.bin", url: `${base}/small`, size: 3, headers: {authorization: "Bearer t"}}, options);
            const declared = remoteAttachment({name: "d.bin", url: `${base}/small`, size: 2 * MiB}, options);
            const endless = remoteAttachment({name: "e.bin", url: `${base}/endless`, size: 10}, options);
            expect(requests).toEqual([]);
            expect(small).toMatchObject({name: "s.bin", size: 3});
            await expect(declared.read()).rejects.toMatchObject({code: "adapter/attachment_too_large"});
            expect(requests).toEqual([]);
            await expect(endless.read()).rejects.toMatchObject({code: "adapter/attachment_too_large", message: "That file is too large (max 1 MB)."});
            expect(await small.read()).toEqual(new Uint8Array([9, 8, 7]));
            await expect(remoteAttachment({name: "x", url: `${base.replace(/:\d+$/, ":1")}/gone`, size: 1}, options).read())
                .rejects.toMatchObject({code: "adapter/attachment_unreadable"});
        } finally {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
    });
});
