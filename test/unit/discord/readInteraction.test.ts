import {ChannelType} from "discord.js";
import type {ChatInputCommandInteraction} from "discord.js";
import {describe, expect, it} from "vitest";
import {readInteraction} from "../../../adapters/discord/readInteraction.ts";
import {toTurn} from "../../../adapters/discord/toTurn.ts";

const BOT = "200000000000000001";
const context = {botUserId: BOT, allowDms: false, signal: new AbortController().signal};
const command = {name: "status", args: ""};

/** The fields of a slash command readInteraction reads; `channel` is what discord.js has cached. */
function interaction(channel: {isThread(): boolean, parentId: string | null} | null): ChatInputCommandInteraction {
    return {
        id: "900", channelId: "11", guildId: "1", channel, member: null, memberPermissions: null, createdTimestamp: 1,
        user: {id: "30", displayName: "mel", bot: false},
    } as unknown as ChatInputCommandInteraction;
}

describe("readInteraction", () => {
    it("takes a cached thread's parent from discord.js", () => {
        const event = readInteraction(interaction({isThread: () => true, parentId: "10"}), command, false);
        expect(event.threadParentId).toBe("10");
    });

    it("takes an uncached thread's parent from the payload, so the thread starts from its channel", () => {
        for (const type of [ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread]) {
            const event = readInteraction(interaction(null), command, false, {type, parent_id: "10"});
            expect(toTurn(event, context)).toMatchObject({conversation: "discord:11", parent: "discord:10", platformIds: {channel: "10", thread: "11"}});
        }
    });

    it("gives an uncached channel that is no thread no parent", () => {
        const event = readInteraction(interaction(null), command, false, {type: ChannelType.GuildText, parent_id: "5"});
        expect(event.threadParentId).toBeNull();
        expect(readInteraction(interaction(null), command, false).threadParentId).toBeNull();
    });
});
