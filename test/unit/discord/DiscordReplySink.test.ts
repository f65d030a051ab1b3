import {afterEach, beforeEach, describe, expect, it, vi} from "vitest";
import {DiscordReplySink} from "../../../adapters/discord/DiscordReplySink.ts";
import type {ReplyPayload, ReplyTarget} from "../../../adapters/discord/ReplyTarget.ts";
import {BotError, UserFacingError} from "../../../src/errors/BotError.ts";
import {EditThrottle} from "../../../adapters/shared/EditThrottle.ts";
import {warningsTo} from "../../helpers/testLoggers.ts";

type Sent = {kind: "typing"} | {kind: "post", index: number, first: boolean, payload: ReplyPayload} | {kind: "edit", index: number, payload: ReplyPayload};

/** A target that records what the sink sends, in order. */
function recordingTarget(): ReplyTarget & {sent: Sent[]} {
    const sent: Sent[] = [];
    let posts = 0;
    return {
        sent,
        typing: async () => void sent.push({kind: "typing"}),
        async post(payload, first) {
            const index = posts++;
            sent.push({kind: "post", index, first, payload});
            return async (edit) => void sent.push({kind: "edit", index, payload: edit});
        },
    };
}

// A controlled clock (fake timers and Date): the typing interval and the edit throttle's
// waits happen exactly when the test advances time, whatever the machine's load.
let throttle: EditThrottle;
const deliveryErrors: unknown[] = [];
const sink = (target: ReplyTarget, typingIntervalMs = 1000) => new DiscordReplySink(target, {throttle, typingIntervalMs, log: warningsTo((_, error) => deliveryErrors.push(error))});
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Lets the sink's pending sends run (posts go out from its pump, edits after the throttle's waits). */
async function settled<T>(work: Promise<T>): Promise<T> {
    await vi.runAllTimersAsync();
    return work;
}
const contents = (sent: Sent[]) => sent.flatMap((s) => (s.kind === "typing" ? ["typing"] : [`${s.kind}${s.index}:${s.payload.content ?? ""}`]));

beforeEach(() => {
    vi.useFakeTimers({now: 1_000_000});
    throttle = new EditThrottle({minIntervalMs: 10, globalEditsPerSecond: 1000});
});

afterEach(async () => {
    await settled(throttle.stop());
    vi.useRealTimers();
    expect(deliveryErrors).toEqual([]);
});

describe("DiscordReplySink", () => {
    it("re-sends typing until the first text, then stops", async () => {
        const target = recordingTarget();
        const reply = sink(target, 20);
        await reply.typing();
        await reply.typing();
        await advance(70);
        // Blank text is not a first text: typing goes on.
        await reply.update("   ");
        await advance(30);
        // At 0 ms, then every 20 ms up to 100 ms; the second typing() added no timer of its own.
        expect(contents(target.sent)).toEqual(Array(6).fill("typing"));
        await reply.update("Hello");
        await advance(50);
        await settled(reply.complete("Hello there"));
        expect(contents(target.sent).slice(6)).toEqual(["post0:Hello", "edit0:Hello there"]);
    });

    it("sends only the newest text, never without empty allowed mentions", async () => {
        const target = recordingTarget();
        const reply = sink(target);
        await reply.update("a");
        await advance(0);
        for (const text of ["ab", "abc", "abcd"]) await reply.update(text);
        await settled(reply.complete("abcde"));
        // Within one interval of the post: the three updates never go out, only the final text.
        expect(contents(target.sent)).toEqual(["post0:a", "edit0:abcde"]);
        expect(target.sent.every((s) => s.kind === "typing" || JSON.stringify(s.payload.allowedMentions) === JSON.stringify({parse: []}))).toBe(true);
    });

    it("continues past 2000 characters in more messages, editing only parts that changed", async () => {
        const target = recordingTarget();
        const reply = sink(target);
        const first = `${"a".repeat(1500)}\n${"b".repeat(400)}`;
        await reply.update(first);
        await advance(30);
        await settled(reply.complete(`${first}\n${"c".repeat(900)}`));
        expect(contents(target.sent)).toEqual([`post0:${first}`, `edit0:${"a".repeat(1500)}\n${"b".repeat(400)}`, `post1:${"c".repeat(900)}`].filter((entry, i) => i !== 1));
        expect(target.sent.filter((s) => s.kind === "post").map((s) => s.kind === "post" && s.first)).toEqual([true, false]);
    });

    it("attaches a file to the answer's last part, or posts it after a streamed answer", async () => {
        const bytes = new Uint8Array([1, 2, 3]);
        const direct = recordingTarget();
        await sink(direct).complete("Exported.", {name: "s.rwkv", bytes});
        expect(direct.sent).toHaveLength(1);
        expect(direct.sent[0]).toMatchObject({kind: "post", first: true, payload: {content: "Exported.", files: [{name: "s.rwkv"}]}});

        const streamed = recordingTarget();
        const reply = sink(streamed);
        await reply.update("Working");
        await advance(0);
        await settled(reply.complete("Done.", {name: "s.rwkv", bytes}));
        const posts = streamed.sent.filter((s) => s.kind === "post");
        expect(posts).toHaveLength(2);
        expect(posts[1]).toMatchObject({first: false, payload: {files: [{name: "s.rwkv"}]}});
        expect(posts[1]?.kind === "post" && posts[1].payload.content).toBeUndefined();
    });

    it("shows a user-facing failure after what was streamed, and a generic line for other errors", async () => {
        const streamed = recordingTarget();
        const reply = sink(streamed);
        await reply.update("Partial");
        await advance(0);
        await reply.update("Partial answer");
        await settled(reply.fail(new UserFacingError("scheduler/overloaded", "Busy.")));
        expect(contents(streamed.sent)).toEqual(["post0:Partial", "edit0:Partial answer\n\n⚠️ Busy."]);

        const other = recordingTarget();
        await sink(other).fail(new BotError("store/unavailable", "connection refused to 10.0.0.5"));
        expect(contents(other.sent)).toEqual(["post0:⚠️ Something went wrong; the details are in the bot's log."]);
    });

    it("repairs a failed final edit instead of leaving the answer cut where streaming stopped", async () => {
        const target = recordingTarget();
        const post = target.post.bind(target);
        let failures = 1;
        target.post = async (payload, first) => {
            const edit = await post(payload, first);
            return async (next) => {
                if (next.content === "Hello there, all" && failures-- > 0) throw new Error("HTTP 503");
                await edit(next);
            };
        };
        const reply = sink(target);
        await reply.update("Hello");
        await advance(0);
        await settled(reply.complete("Hello there, all"));
        expect(contents(target.sent)).toEqual(["post0:Hello", "edit0:Hello there, all"]);
        expect(deliveryErrors.splice(0)).toEqual([new Error("HTTP 503")]);
    });

    it("answers an empty reply visibly, and ignores calls after the end", async () => {
        const target = recordingTarget();
        const reply = sink(target);
        await settled(reply.complete("  "));
        await reply.update("late");
        await reply.fail(new UserFacingError("x/y", "late"));
        await reply.complete("late");
        expect(contents(target.sent)).toEqual(["post0:(no reply)"]);
    });
});
