import {PermissionFlagsBits} from "discord.js";
import {describe, expect, it} from "vitest";
import type {DiscordEvent} from "../../../adapters/discord/DiscordEvent.ts";
import {toTurn} from "../../../adapters/discord/toTurn.ts";

const BOT = "200000000000000001";
const signal = new AbortController().signal;
const context = {botUserId: BOT, allowDms: false, signal};

function event(overrides: Partial<DiscordEvent> = {}): DiscordEvent {
    return {
        id: "900",
        channelId: "10",
        threadParentId: null,
        guildId: "1",
        isDm: false,
        author: {id: "30", name: "mel", isBot: false},
        permissions: PermissionFlagsBits.SendMessages,
        content: `<@${BOT}> hello there`,
        mentions: new Map([[BOT, "rwkv"]]),
        hasAttachment: false,
        createdAt: 1_700_000_000_000,
        ...overrides,
    };
}

describe("toTurn", () => {
    it("turns a mention in a channel into a turn keyed by the channel, with the mention stripped", () => {
        const turn = toTurn(event(), context);
        expect(turn).toMatchObject({
            id: "900", platform: "discord", conversation: "discord:10", text: "hello there",
            author: {id: "30", name: "mel", isAdmin: false}, platformIds: {guild: "1", channel: "10"}, receivedAt: 1_700_000_000_000,
        });
        expect(turn?.parent).toBeUndefined();
        expect(turn?.command).toBeUndefined();
        expect(turn?.signal).toBe(signal);
    });

    it("addresses a mention's answer to its channel (a thread's own) and message, a slash command's to its interaction webhook", () => {
        expect(toTurn(event(), context)?.replyAddress).toEqual({channel: "10", message: "900"});
        expect(toTurn(event({channelId: "11", threadParentId: "10"}), context)?.replyAddress).toEqual({channel: "11", message: "900"});
        const command = event({content: "status", command: {name: "status", args: ""}, interaction: {applicationId: "7", token: "tok"}});
        expect(toTurn(command, context)?.replyAddress).toEqual({channel: "10", application: "7", token: "tok"});
    });

    it("strips the nickname form of the mention and names other mentioned users", () => {
        const turn = toTurn(event({content: `hey <@!${BOT}>, ask <@31> and <@32>`, mentions: new Map([[BOT, "rwkv"], ["31", "ada"]])}), context);
        expect(turn?.text).toBe("hey , ask @ada and @<@32>");
    });

    it("returns null for bots, itself, and messages that do not mention it", () => {
        expect(toTurn(event({author: {id: "31", name: "robo", isBot: true}}), context)).toBeNull();
        expect(toTurn(event({author: {id: BOT, name: "rwkv", isBot: false}}), context)).toBeNull();
        expect(toTurn(event({mentions: new Map()}), context)).toBeNull();
        expect(toTurn(event({content: "<@31> hi", mentions: new Map([["31", "ada"]])}), context)).toBeNull();
    });

    it("returns null for a bare mention, unless a file came with it", () => {
        expect(toTurn(event({content: `<@${BOT}>  `}), context)).toBeNull();
        expect(toTurn(event({content: `<@${BOT}>`, hasAttachment: true}), context)?.text).toBe("");
    });

    it("keys a thread by its own id with its channel as parent", () => {
        const turn = toTurn(event({channelId: "11", threadParentId: "10"}), context);
        expect(turn?.conversation).toBe("discord:11");
        expect(turn?.parent).toBe("discord:10");
        expect(turn?.platformIds).toEqual({guild: "1", channel: "10", thread: "11"});
    });

    it("answers DMs without a mention only when they are enabled, keyed discord:dm:<channel>, the author as admin", () => {
        const dm = event({channelId: "20", guildId: null, isDm: true, permissions: null, content: "hi", mentions: new Map()});
        expect(toTurn(dm, context)).toBeNull();
        const turn = toTurn(dm, {...context, allowDms: true});
        expect(turn?.conversation).toBe("discord:dm:20");
        expect(turn?.author.isAdmin).toBe(true);
        expect(turn?.platformIds).toEqual({channel: "20"});
    });

    it("decides the admin flag from the event's permissions", () => {
        expect(toTurn(event({permissions: PermissionFlagsBits.Administrator}), context)?.author.isAdmin).toBe(true);
        expect(toTurn(event({permissions: PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages}), context)?.author.isAdmin).toBe(true);
        expect(toTurn(event({permissions: PermissionFlagsBits.ManageChannels | PermissionFlagsBits.ManageMessages}), context)?.author.isAdmin).toBe(false);
        expect(toTurn(event({permissions: null}), context)?.author.isAdmin).toBe(false);
    });

    it("passes a slash command through without needing a mention", () => {
        const command = {name: "reset", args: ""};
        const turn = toTurn(event({content: "reset", mentions: new Map(), command}), context);
        expect(turn?.command).toEqual(command);
        expect(turn?.text).toBe("reset");
    });
});
