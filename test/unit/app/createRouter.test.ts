import {describe, expect, it} from "vitest";
import {createRouter, parseCommandText} from "../../../src/app/createRouter.ts";
import type {ReplySink} from "../../../src/core/ReplySink.ts";
import {conversationKey} from "../../../src/core/Turn.ts";
import type {Turn} from "../../../src/core/Turn.ts";
import type {BotError} from "../../../src/errors/BotError.ts";
import type {ModelInfo} from "../../../src/core/ModelInfo.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import type {Scheduler} from "../../../src/scheduler/Scheduler.ts";
import {silentLog} from "../../helpers/testLoggers.ts";

function turn(text: string, isAdmin: boolean, command?: Turn["command"]): Turn {
    return {
        id: "1", platform: "discord", conversation: conversationKey("discord:1"), author: {id: "u", name: "u", isAdmin},
        text, receivedAt: 0, signal: new AbortController().signal, ...(command === undefined ? {} : {command}),
    };
}

/** A scheduler fake that records what reaches it. */
function fakeScheduler() {
    const calls: string[] = [];
    const scheduler = {
        chat: async (t: Turn) => void calls.push(`chat ${t.text}`),
        exclusive: async () => void calls.push("exclusive"),
        stop: () => (calls.push("stop"), 0),
    } as unknown as Scheduler;
    return {scheduler, calls};
}

function sink() {
    const ended: {kind: string, text: string, code?: string}[] = [];
    const replySink: ReplySink = {
        typing: async () => undefined, update: async () => undefined,
        complete: async (text) => void ended.push({kind: "complete", text}),
        fail: async (error: BotError) => void ended.push({kind: "fail", text: error.message, code: error.code}),
    };
    return {replySink, ended};
}

const model = {path: "m.pth"} as ModelInfo;
const log = silentLog;

describe("parseCommandText", () => {
    it("reads /name args for known commands only", () => {
        expect(parseCommandText("/reset")).toEqual({name: "reset", args: ""});
        expect(parseCommandText("  /EXPORT  my file.bin ")).toEqual({name: "export", args: "my file.bin"});
        expect(parseCommandText("/help")).toEqual({name: "help", args: ""});
        expect(parseCommandText("/shrug me")).toBeNull();
        expect(parseCommandText("please /reset")).toBeNull();
    });
});

describe("the router", () => {
    it("sends chat to the scheduler and commands to their handlers", async () => {
        const {scheduler, calls} = fakeScheduler();
        const route = createRouter({scheduler, model, sampling: chatSamplingDefaults, log, instance: "test"});
        await route(turn("hello", false), sink().replySink);
        const {replySink, ended} = sink();
        await route(turn("/stop", true), replySink);
        expect(calls).toEqual(["chat hello", "stop"]);
        expect(ended).toEqual([{kind: "complete", text: "Nothing to stop."}]);
    });

    it("refuses admin commands to non-admins politely and runs nothing", async () => {
        const {scheduler, calls} = fakeScheduler();
        const route = createRouter({scheduler, model, sampling: chatSamplingDefaults, log, instance: "test"});
        for (const [text, command] of [["/reset", undefined], ["", {name: "import", args: ""}]] as const) {
            const {replySink, ended} = sink();
            await route(turn(text, false, command), replySink);
            expect(ended).toEqual([{kind: "fail", code: "command/forbidden", text: expect.stringMatching(/^Sorry, only admins can use (reset|import) here\.$/)}]);
        }
        expect(calls).toEqual([]);
    });

    it("answers an unknown platform command with the help", async () => {
        const {scheduler} = fakeScheduler();
        const {replySink, ended} = sink();
        await createRouter({scheduler, model, sampling: chatSamplingDefaults, log, instance: "test"})(turn("", true, {name: "frobnicate", args: ""}), replySink);
        expect(ended[0]).toMatchObject({kind: "fail", code: "command/unknown", text: expect.stringContaining("Commands:")});
    });

    it("reads an import's file only for an admin, before taking the conversation", async () => {
        const reads: boolean[] = [];
        const attachment = {name: "s.rwkvconv", size: 3, read: async () => (reads.push(true), new Uint8Array([1, 2, 3]))};
        const {scheduler, calls} = fakeScheduler();
        const route = createRouter({scheduler, model, sampling: chatSamplingDefaults, log, instance: "test"});
        const refused = sink();
        await route({...turn("/import", false), attachment}, refused.replySink);
        expect(refused.ended[0]).toMatchObject({kind: "fail", code: "command/forbidden"});
        expect(reads).toEqual([]);
        await route({...turn("/import", true), attachment}, sink().replySink);
        expect(reads).toEqual([true]);
        expect(calls).toEqual(["exclusive"]);
    });
});
