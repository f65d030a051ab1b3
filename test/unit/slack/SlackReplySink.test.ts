import {describe, expect, it} from "vitest";
import {SlackReplySink} from "../../../adapters/slack/SlackReplySink.ts";
import type {SlackMessaging} from "../../../adapters/slack/SlackReplySink.ts";
import {StoreError, UserFacingError} from "../../../src/errors/BotError.ts";
import {EditThrottle} from "../../../adapters/shared/EditThrottle.ts";
import {silentLog} from "../../helpers/testLoggers.ts";

const throttle = new EditThrottle({minIntervalMs: 1, globalEditsPerSecond: 1000});

function fakeMessaging(withNotice = false) {
    const messages = new Map<string, string>();
    const log: string[] = [];
    let next = 1;
    const messaging: SlackMessaging = {
        post: async (text) => {
            const ts = String(next++);
            messages.set(ts, text);
            log.push(`post ${ts}`);
            return ts;
        },
        edit: async (ts, text) => void messages.set(ts, text),
        remove: async (ts) => {
            messages.delete(ts);
            log.push(`remove ${ts}`);
        },
        upload: async (file) => void log.push(`upload ${file.name}`),
        ...(withNotice ? {notice: async (text: string) => void log.push(`notice ${text}`)} : {}),
    };
    return {messaging, messages, log};
}
const sink = (messaging: SlackMessaging, placeholder?: string | null) =>
    new SlackReplySink(messaging, throttle, {splitAt: 10, log: silentLog, ...(placeholder === undefined ? {} : {placeholder})});

describe("SlackReplySink", () => {
    it("replaces the placeholder, continues past the split, removes surplus messages, escapes", async () => {
        const {messaging, messages, log} = fakeMessaging();
        const reply = sink(messaging);
        await reply.typing();
        expect([...messages.values()]).toEqual(["_…thinking_"]);
        await reply.update("aaaa bbbb cccc dddd eeee");
        await reply.complete("aaaa bbbb <x>");
        expect([...messages.values()]).toEqual(["aaaa bbbb ", "&lt;x&gt;"]);
        expect(log).toContain("remove 3");
    });

    it("uploads a file after the text", async () => {
        const {messaging, messages, log} = fakeMessaging();
        await sink(messaging).complete("", {name: "s.bin", bytes: new Uint8Array(4)});
        expect(messages.size).toBe(0);
        expect(log).toEqual(["upload s.bin"]);
    });

    it("shows a user-facing failure in place of the placeholder, and a generic line otherwise", async () => {
        const first = fakeMessaging();
        const reply = sink(first.messaging);
        await reply.typing();
        await reply.fail(new UserFacingError("app/busy", "Busy"));
        expect([...first.messages.values()]).toEqual([":warning: Busy"]);
        await reply.complete("late");
        expect([...first.messages.values()]).toEqual([":warning: Busy"]);

        const second = fakeMessaging();
        const streamed = sink(second.messaging);
        await streamed.update("partial");
        await streamed.fail(new StoreError("store/unavailable", "connect ECONNREFUSED postgres://u:secret@db"));
        expect([...second.messages.values()]).toEqual(["partial", ":warning: Sorry, something went wrong (store/unavailable)."]);
    });

    it("tells a slash command's requester privately", async () => {
        const {messaging, messages, log} = fakeMessaging(true);
        const reply = sink(messaging, null);
        await reply.typing();
        await reply.fail(new UserFacingError("app/not_admin", "Admins only."));
        expect(messages.size).toBe(0);
        expect(log).toEqual(["notice :warning: Admins only."]);
    });
});
