import {createInterface} from "node:readline";
import {BotError} from "../errors/BotError.ts";

/** All of stdin, as bytes (not decoded: callers decide what the bytes mean). */
export async function readStdin(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

/**
 * The JSON value of each stdin line, with its 1-based line number, as lines arrive.
 * A malformed line throws `BotError` `cli/bad_input` naming the line.
 */
export async function* readStdinJsonLines(): AsyncGenerator<{value: unknown; line: number}> {
    let line = 0;
    for await (const text of createInterface({input: process.stdin, crlfDelay: Infinity})) {
        line += 1;
        try {
            yield {value: JSON.parse(text) as unknown, line};
        } catch (error) {
            if (!(error instanceof SyntaxError)) throw error;
            throw new BotError("cli/bad_input", `stdin line ${line}: not JSON (${error.message})`);
        }
    }
}
