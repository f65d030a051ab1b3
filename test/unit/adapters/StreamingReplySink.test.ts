import {afterEach, beforeEach, describe, expect, it, vi} from "vitest";
import {StreamingReplySink} from "../../../adapters/shared/StreamingReplySink.ts";
import type {MessageSurface} from "../../../adapters/shared/StreamingReplySink.ts";
import {EditThrottle} from "../../../adapters/shared/EditThrottle.ts";
import {DiscordReplySink} from "../../../adapters/discord/DiscordReplySink.ts";
import {SlackReplySink} from "../../../adapters/slack/SlackReplySink.ts";
import {BotError, UserFacingError} from "../../../src/errors/BotError.ts";
import type {ReplySink} from "../../../src/core/ReplySink.ts";
import {warningsTo} from "../../helpers/testLoggers.ts";

// A controlled clock (fake timers and Date): typing resends and the throttle's waits happen
// exactly when a test advances time, whatever the machine's load.
let throttle: EditThrottle;
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Runs every timer the work waits on (throttled edits), then resolves with it. */
async function settled<T>(work: Promise<T>): Promise<T> {
    await vi.runAllTimersAsync();
    return work;
}

beforeEach(() => {
    vi.useFakeTimers({now: 1_000_000});
    throttle = new EditThrottle({minIntervalMs: 5, globalEditsPerSecond: 1000});
});

afterEach(async () => {
    await settled(throttle.stop());
    vi.useRealTimers();
});

/** A platform of numbered messages that records every call, in order. */
function recordingSurface(overrides: Partial<MessageSurface<number>> = {}) {
    const messages: string[] = [];
    const calls: string[] = [];
    const surface: MessageSurface<number> = {
        maxLength: 10,
        emptyReply: "(empty)",
        post: async (text, first, file) => {
            calls.push(`post${messages.length}${first ? "!" : ""}:${text}${file === undefined ? "" : `+${file.name}`}`);
            messages.push(text);
            return messages.length - 1;
        },
        edit: async (index, text) => {
            calls.push(`edit${index}:${text}`);
            messages[index] = text;
        },
        remove: async (index) => {
            calls.push(`remove${index}`);
            messages[index] = "<removed>";
        },
        filesInline: false,
        sendFile: async (file) => void calls.push(`file:${file.name}`),
        failureLine: (error) => `! ${error instanceof UserFacingError ? error.message : error.code}`,
        failure: "own message",
        ...overrides,
    };
    return {surface, messages, calls};
}

function sinkOn(surface: MessageSurface<number>) {
    const errors: string[] = [];
    const sink = new StreamingReplySink(surface, throttle, warningsTo((message) => errors.push(message)));
    return {sink, errors};
}

const file = {name: "s.bin", bytes: new Uint8Array([1])};

describe("StreamingReplySink", () => {
    it("posts new parts in order, edits only the part that grew, and coalesces edits to the newest text", async () => {
        const {surface, messages, calls} = recordingSurface();
        const {sink, errors} = sinkOn(surface);
        await sink.update("aaaa");
        await advance(20);
        for (const text of ["aaaa b", "aaaa bb", "aaaa bbb", "aaaa bbbb cc"]) await sink.update(text);
        await settled(sink.complete("aaaa bbbb cccc"));
        expect(messages).toEqual(["aaaa bbbb ", "cccc"]);
        expect(calls[0]).toBe("post0!:aaaa");
        expect(calls.filter((call) => call.startsWith("post1"))).toEqual(["post1:cc"]);
        // Four streamed texts for part 0 with no time passing between them: one edit, the newest.
        expect(calls).toEqual(["post0!:aaaa", "post1:cc", "edit0:aaaa bbbb ", "edit1:cccc"]);
        expect(errors).toEqual([]);
    });

    it("sizes each part so that its escaped text fits, and never cuts an escape in half", async () => {
        const {surface, messages} = recordingSurface({escape: (text) => text.replace(/&/g, "&amp;")});
        const {sink} = sinkOn(surface);
        await settled(sink.complete("a&b&c&d&e"));
        expect(messages.every((part) => part.length <= 10)).toBe(true);
        expect(messages.join("")).toBe("a&amp;b&amp;c&amp;d&amp;e");
        expect(messages).toEqual(["a&amp;b", "&amp;c", "&amp;d", "&amp;e"]);
    });

    it("trims trailing whitespace where the platform does, sparing the edit", async () => {
        const {surface, calls} = recordingSurface({trimsTrailingWhitespace: true});
        const {sink} = sinkOn(surface);
        await sink.update("hello");
        await advance(20);
        await settled(sink.complete("hello \n"));
        expect(calls).toEqual(["post0!:hello"]);
    });

    it("says where its first message is once posted, and a sink resuming that message finishes the reply in it", async () => {
        const {surface, messages, calls} = recordingSurface({placeholder: "…", addressOf: (index) => ({resume: String(index)})});
        const {sink} = sinkOn(surface);
        const seen: unknown[] = [];
        sink.onPosted((at) => seen.push(at));
        expect(seen).toEqual([]);
        await sink.typing();
        await sink.update("half");
        await advance(20);
        expect(seen).toEqual([{resume: "0"}]);
        // Another process (this one died) finishes the same reply: no placeholder, no new message, the text edited in.
        const resumed = new StreamingReplySink(surface, throttle, warningsTo(() => {}), 0);
        const late: unknown[] = [];
        resumed.onPosted((at) => late.push(at));
        expect(late).toEqual([{resume: "0"}]);
        await resumed.typing();
        await settled(resumed.complete("the whole"));
        expect(messages).toEqual(["the whole"]);
        expect(calls).toEqual(["post0!:…", "edit0:half", "edit0:the whole"]);
    });

    it("replaces a placeholder with the answer and removes parts the final text no longer needs", async () => {
        const {surface, messages, calls} = recordingSurface({placeholder: "…"});
        const {sink} = sinkOn(surface);
        await sink.typing();
        await sink.typing();
        expect(messages).toEqual(["…"]);
        await sink.update("aaaa bbbb cccc dddd");
        await settled(sink.complete("short"));
        expect(messages).toEqual(["short", "<removed>"]);
        expect(calls.filter((call) => call.startsWith("post"))).toEqual(["post0!:…", "post1:cccc dddd"]);
    });

    it("re-sends typing until the first text only", async () => {
        let typed = 0;
        const {surface} = recordingSurface({typing: async () => void typed++, typingIntervalMs: 10});
        const {sink} = sinkOn(surface);
        await sink.typing();
        await advance(25);
        // At 0, 10 and 20 ms; none after the first text.
        expect(typed).toBe(3);
        await sink.update("hi");
        await advance(40);
        expect(typed).toBe(3);
        await settled(sink.complete("hi"));
    });

    it("retries a failed final edit once, and posts the text when the retry fails too", async () => {
        for (const failures of [1, 2]) {
            let left = failures;
            const {surface, messages, calls} = recordingSurface();
            const edit = surface.edit;
            const {sink, errors} = sinkOn({
                ...surface,
                edit: async (index, text) => {
                    if (text === "final" && left-- > 0) throw new Error("HTTP 503");
                    await edit(index, text);
                },
            });
            await sink.update("draft");
            await advance(20);
            await settled(sink.complete("final"));
            if (failures === 1) {
                expect(messages).toEqual(["final"]);
                expect(errors).toEqual(["the final edit failed; retrying it"]);
            } else {
                expect(calls).toEqual(["post0!:draft", "post1:final"]);
                expect(errors).toEqual(["the final edit failed; retrying it", "the final edit failed again; posting the text instead"]);
            }
        }
    });

    it("stops streaming after a refused post and tries once more in the final delivery", async () => {
        let refuse = true;
        const {surface, messages} = recordingSurface();
        const post = surface.post;
        const {sink, errors} = sinkOn({
            ...surface,
            post: async (text, first, attached) => {
                if (refuse) throw new Error("not_in_channel");
                return post(text, first, attached);
            },
        });
        await sink.update("one");
        await advance(10);
        await sink.update("one two");
        await advance(10);
        expect(errors).toEqual(["could not post a reply"]);
        refuse = false;
        await settled(sink.complete("one two three"));
        expect(messages).toEqual(["one two ", "three"]);
    });

    it("attaches a file to an unstreamed answer's last part where the platform can, else sends it after the text", async () => {
        const inline = recordingSurface({filesInline: true});
        await settled(sinkOn(inline.surface).sink.complete("aaaa bbbb cc", file));
        expect(inline.calls).toEqual(["post0!:aaaa bbbb ", "post1:cc+s.bin"]);

        const alone = recordingSurface({filesInline: true});
        await settled(sinkOn(alone.surface).sink.complete("", file));
        expect(alone.calls).toEqual(["post0!:+s.bin"]);

        const after = recordingSurface();
        await settled(sinkOn(after.surface).sink.complete("", file));
        expect(after.calls).toEqual(["file:s.bin"]);

        const streamed = recordingSurface({filesInline: true});
        const sink = sinkOn(streamed.surface).sink;
        await sink.update("text");
        await advance(10);
        await settled(sink.complete("text", file));
        expect(streamed.calls).toEqual(["post0!:text", "file:s.bin"]);
    });

    it("shows the empty reply, keeps streamed text when the final one is empty, and ignores calls after the end", async () => {
        const empty = recordingSurface();
        const sink = sinkOn(empty.surface).sink;
        await settled(sink.complete(" "));
        await sink.update("late");
        await settled(sink.fail(new UserFacingError("x/y", "late")));
        expect(empty.calls).toEqual(["post0!:(empty)"]);

        const streamed = recordingSurface();
        const other = sinkOn(streamed.surface).sink;
        await other.update("kept");
        await settled(other.complete(""));
        expect(streamed.messages).toEqual(["kept"]);
    });

    it("places a failure inline after the streamed text, or in a message of its own, or privately", async () => {
        const inline = recordingSurface({failure: "inline", maxLength: 100});
        const a = sinkOn(inline.surface).sink;
        await a.update("partial");
        await settled(a.fail(new UserFacingError("x/busy", "Busy.")));
        expect(inline.messages).toEqual(["partial\n\n! Busy."]);

        const own = recordingSurface({placeholder: "…"});
        const b = sinkOn(own.surface).sink;
        await b.typing();
        await settled(b.fail(new BotError("store/unavailable", "secret")));
        expect(own.messages).toEqual(["! store/unavailable"]);

        const after = recordingSurface();
        const c = sinkOn(after.surface).sink;
        await c.update("partial");
        await settled(c.fail(new UserFacingError("x/busy", "Busy.")));
        expect(after.messages).toEqual(["partial", "! Busy."]);

        const notes: string[] = [];
        const private_ = recordingSurface({placeholder: "…", notice: async (text) => void notes.push(text)});
        const d = sinkOn(private_.surface).sink;
        await d.typing();
        await settled(d.fail(new UserFacingError("x/admin", "Admins only.")));
        expect(private_.messages).toEqual(["<removed>"]);
        expect(notes).toEqual(["! Admins only."]);
    });
});

describe("the final-edit retry on each platform", () => {
    type Platform = {name: string; build(failFinalEdits: number): {sink: ReplySink; shown(): string[]; errors: unknown[]}};
    const platforms: Platform[] = [
        {
            name: "Discord",
            build(failFinalEdits) {
                const shown: string[] = [];
                const errors: unknown[] = [];
                const sink = new DiscordReplySink(
                    {
                        typing: async () => {},
                        post: async (payload) => {
                            const index = shown.push(payload.content ?? "") - 1;
                            return async (edit) => {
                                if (edit.content === "the whole answer" && failFinalEdits-- > 0) throw new Error("HTTP 503");
                                shown[index] = edit.content ?? "";
                            };
                        },
                    },
                    {throttle, log: warningsTo((_, error) => errors.push(error))},
                );
                return {sink, shown: () => shown, errors};
            },
        },
        {
            name: "Slack",
            build(failFinalEdits) {
                const shown = new Map<string, string>();
                const errors: unknown[] = [];
                const sink = new SlackReplySink(
                    {
                        post: async (text) => {
                            const ts = String(shown.size + 1);
                            shown.set(ts, text);
                            return ts;
                        },
                        edit: async (ts, text) => {
                            if (text === "the whole answer" && failFinalEdits-- > 0) throw new Error("ratelimited");
                            shown.set(ts, text);
                        },
                        remove: async (ts) => void shown.delete(ts),
                        upload: async () => {},
                    },
                    throttle,
                    {log: warningsTo((_, error) => errors.push(error))},
                );
                return {sink, shown: () => [...shown.values()], errors};
            },
        },
    ];

    for (const platform of platforms) {
        it(`${platform.name}: a final edit that fails once still shows the whole answer, in place`, async () => {
            const {sink, shown, errors} = platform.build(1);
            await sink.typing();
            await sink.update("the whole");
            await advance(20);
            await settled(sink.complete("the whole answer"));
            expect(shown()).toEqual(["the whole answer"]);
            expect(errors).toHaveLength(1);
        });
    }
});
