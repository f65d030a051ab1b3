import {PassThrough} from "node:stream";
import {setTimeout as sleep} from "node:timers/promises";
import {describe, expect, it} from "vitest";
import {ConsoleAdapter} from "../../../adapters/console/ConsoleAdapter.ts";
import type {Turn} from "../../../src/core/Turn.ts";

/** A console on `input`, answering each turn after `replyMs`; returns the turns it saw. */
async function consoleOn(input: PassThrough, replyMs: number): Promise<{turns: Turn[]; adapter: ConsoleAdapter}> {
    const turns: Turn[] = [];
    const adapter = new ConsoleAdapter({input, output: new PassThrough(), conversation: "test"});
    await adapter.start(async (turn) => {
        turns.push(turn);
        await sleep(replyMs);
    });
    return {turns, adapter};
}

function terminal(): PassThrough {
    return Object.assign(new PassThrough(), {isTTY: true});
}

async function until(condition: () => boolean): Promise<void> {
    for (let waited = 0; !condition(); waited += 10) {
        if (waited > 5000) throw new Error("timed out");
        await sleep(10);
    }
}

describe("ConsoleAdapter", () => {
    it("makes a paste of several lines at a terminal one turn, and separate lines separate turns", async () => {
        const input = terminal();
        const {turns, adapter} = await consoleOn(input, 50);
        input.write("first line of a paste\nsecond line\n  third, indented\n");
        await until(() => turns.length === 1);
        input.write("typed on its own\n");
        await sleep(150);
        input.write("/status\n");
        await until(() => turns.length === 3);
        await sleep(100);
        await adapter.stop();
        expect(turns.map((turn) => turn.text)).toEqual(["first line of a paste\nsecond line\n  third, indented", "typed on its own", "/status"]);
        expect(turns[2]!.command).toEqual({name: "status", args: ""});
    });

    it("keeps one turn per line for a piped script", async () => {
        const input = new PassThrough();
        const {turns} = await consoleOn(input, 0);
        input.end("one\ntwo\nthree\n");
        await until(() => turns.length === 3);
        expect(turns.map((turn) => turn.text)).toEqual(["one", "two", "three"]);
    });

    it("marks its user as the operator: an admin with no cooldown", async () => {
        const input = new PassThrough();
        const {turns} = await consoleOn(input, 0);
        input.end("hello\n");
        await until(() => turns.length === 1);
        expect(turns[0]!.author).toMatchObject({isAdmin: true, isOperator: true});
    });
});
