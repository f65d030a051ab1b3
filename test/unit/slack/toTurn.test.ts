import {describe, expect, it} from "vitest";
import {slackAuthorId, slackTextToPlain, toTurn} from "../../../adapters/slack/toTurn.ts";
import type {SlackMentionEvent, SlackSource} from "../../../adapters/slack/toTurn.ts";

const context = {author: {id: "UALICE", name: "alice", isAdmin: false}, receivedAt: 1234, signal: new AbortController().signal};
const mention = (event: Partial<SlackMentionEvent>): SlackSource => ({
    kind: "mention", eventId: "Ev1", teamId: "T1", botUserId: "UBOT",
    event: {user: "UALICE", text: "<@UBOT> hi", ts: "10.1", channel: "C1", ...event},
});
const command = (text: string): SlackSource => ({
    kind: "command", command: {team_id: "T1", channel_id: "C9", user_id: "UALICE", text, trigger_id: "trig1"},
});

describe("toTurn (Slack)", () => {
    it("keys a channel mention by team and channel and strips the bot's mention", () => {
        expect(toTurn(mention({text: "<@UBOT> what is   RWKV?"}), context)).toEqual({
            id: "Ev1", platform: "slack", conversation: "slack:T1:C1", platformIds: {team: "T1", channel: "C1"},
            author: context.author, text: "what is RWKV?", receivedAt: 1234, signal: context.signal,
            replyAddress: {channel: "C1", thread: "10.1"},
        });
    });

    it("gives a thread its own key with the channel as parent", () => {
        const turn = toTurn(mention({ts: "10.2", thread_ts: "10.1"}), context);
        expect(turn).toMatchObject({conversation: "slack:T1:C1:10.1", parent: "slack:T1:C1", platformIds: {thread: "10.1"}, replyAddress: {channel: "C1", thread: "10.1"}});
        expect(toTurn(mention({ts: "10.1", thread_ts: "10.1"}), context)?.conversation).toBe("slack:T1:C1");
    });

    it("keeps the same channel apart across workspaces", () => {
        const other = {...mention({}), teamId: "T2"} as SlackSource;
        expect(toTurn(other, context)?.conversation).toBe("slack:T2:C1");
    });

    it("ignores bots, itself, edits and subtypes", () => {
        for (const event of [{bot_id: "B1"}, {user: "UBOT"}, {edited: {user: "UALICE", ts: "1"}}, {subtype: "message_changed"}, {user: undefined}]) {
            expect(slackAuthorId(mention(event))).toBeNull();
            expect(toTurn(mention(event), context)).toBeNull();
        }
        expect(slackAuthorId(mention({}))).toBe("UALICE");
    });

    it("carries an attachment", () => {
        const attachment = {name: "s.bin", size: 2, read: async () => new Uint8Array([1, 2])};
        expect(toTurn(mention({text: "<@UBOT> import"}), {...context, attachment})).toMatchObject({text: "import", attachment});
    });

    it("turns /rwkv ask into a chat turn and other sub-commands into parsed commands", () => {
        expect(toTurn(command("ask  how are you"), context)).toMatchObject({
            id: "trig1", conversation: "slack:T1:C9", text: "how are you", platformIds: {team: "T1", channel: "C9"},
        });
        // A command's answer goes to its channel, its private notes to its response_url.
        expect(toTurn({kind: "command", command: {team_id: "T1", channel_id: "C9", user_id: "UALICE", text: "status", trigger_id: "t", response_url: "https://hooks/r"}}, context)?.replyAddress)
            .toEqual({channel: "C9", responseUrl: "https://hooks/r"});
        expect(toTurn(command("ask x"), context)?.command).toBeUndefined();
        expect(toTurn(command("Reset"), context)?.command).toEqual({name: "reset", args: ""});
        expect(toTurn(command("settings temperature 0.7"), context)).toMatchObject({
            text: "settings temperature 0.7", command: {name: "settings", args: "temperature 0.7"},
        });
        expect(toTurn(command("  "), context)?.command).toEqual({name: "help", args: ""});
    });
});

describe("slackTextToPlain", () => {
    it("reduces mrkdwn markup to its visible text", () => {
        expect(slackTextToPlain("<@UBOT> hi <@U2|bob> in <#C1|general>: <https://x.org|site> <https://y.org> <!here> a &lt;b&gt; &amp; c", "UBOT"))
            .toBe("hi @bob in #general: site https://y.org @here a <b> & c");
        expect(slackTextToPlain("<@U2> <!subteam^S1|@devs>", "UBOT")).toBe("@U2 @devs");
    });
});
