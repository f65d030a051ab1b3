import {Writable} from "node:stream";
import {describe, expect, it} from "vitest";
import {StoreError} from "../../../src/errors/BotError.ts";
import {createLogger} from "../../../src/ops/createLogger.ts";
import type {LogFormat, LogLevel} from "../../../src/ops/createLogger.ts";
import {jsonLog} from "../../helpers/testLoggers.ts";

/** A destination that says it is (or is not) a terminal, keeping what is written. */
function destination(isTTY: boolean): Writable & {isTTY: boolean; text(): string} {
    const chunks: string[] = [];
    const stream = new Writable({
        write(chunk: Buffer, _encoding, done) {
            chunks.push(chunk.toString());
            done();
        },
    });
    return Object.assign(stream, {isTTY, text: () => chunks.join("")});
}

function written(format: LogFormat, isTTY: boolean, level: LogLevel = "info"): string {
    const out = destination(isTTY);
    const log = createLogger({level, format, destination: out});
    log.info("model loaded", {slots: 2});
    return out.text();
}

describe("createLogger", () => {
    it("writes JSON lines off a terminal and readable lines on one, unless told", () => {
        expect(JSON.parse(written("auto", false))).toMatchObject({level: 30, msg: "model loaded", slots: 2});
        const pretty = written("auto", true);
        expect(pretty).toMatch(/INFO.*model loaded/);
        expect(pretty).toContain("slots: 2");
        expect(() => JSON.parse(pretty)).toThrow();
        expect(JSON.parse(written("json", true))).toMatchObject({msg: "model loaded"});
        expect(written("pretty", false)).toMatch(/INFO.*model loaded/);
    });

    it("drops lines below LOG_LEVEL", () => {
        const {log, lines} = jsonLog("warn");
        log.debug("step");
        log.info("turn");
        log.warn("slow");
        log.error("down");
        expect(lines().map((line) => line.msg)).toEqual(["slow", "down"]);
    });

    it("logs an expected failure by code and message, anything else with its stack, and a child's fields on every line", () => {
        const {log, lines} = jsonLog("info");
        const platform = log.child({platform: "discord"});
        platform.warn("checkpoint failed", new StoreError("store/unavailable", "The database is unavailable", {cause: new Error("ECONNREFUSED")}), {conversation: "discord:1"});
        platform.error("step failed", new Error("boom"));
        const [expected, unexpected] = lines();
        expect(expected).toMatchObject({level: 40, platform: "discord", conversation: "discord:1", err: {type: "StoreError", code: "store/unavailable", message: "The database is unavailable", cause: {message: "ECONNREFUSED"}}});
        expect((expected!.err as Record<string, unknown>).stack).toBeUndefined();
        expect(unexpected).toMatchObject({level: 50, platform: "discord", err: {type: "Error", message: "boom", stack: expect.stringContaining("Error: boom")}});
    });

    it("censors secret-looking fields handed to it by mistake", () => {
        const {log, text} = jsonLog("info");
        log.info("connected", {token: "xoxb-123", conversation: "slack:T1:C1"});
        expect(text()).not.toContain("xoxb-123");
        expect(text()).toContain("[redacted]");
    });
});
