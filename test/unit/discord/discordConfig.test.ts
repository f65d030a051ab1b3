import {describe, expect, it} from "vitest";
import {parseDiscordConfig} from "../../../adapters/discord/discordConfig.ts";

describe("parseDiscordConfig", () => {
    it("is off (null) without DISCORD_TOKEN", () => {
        expect(parseDiscordConfig({})).toEqual({config: null, problems: []});
        expect(parseDiscordConfig({DISCORD_TOKEN: "  "}).config).toBeNull();
    });

    it("fills defaults around the token", () => {
        expect(parseDiscordConfig({DISCORD_TOKEN: "abc.def"})).toEqual({
            config: {
                token: "abc.def", apiUrl: undefined, guildId: undefined, registerCommands: true, allowDms: false,
                messageContentIntent: true, maxAttachmentBytes: 100 * 1024 * 1024,
            },
            problems: [],
        });
    });

    it("reads every variable", () => {
        const {config, problems} = parseDiscordConfig({
            DISCORD_TOKEN: "abc", DISCORD_API_URL: "http://127.0.0.1:9999/api/", DISCORD_GUILD_ID: "100000000000000001",
            DISCORD_REGISTER_COMMANDS: "0", DISCORD_ALLOW_DMS: "yes", DISCORD_MESSAGE_CONTENT_INTENT: "false", DISCORD_MAX_ATTACHMENT_MB: "8",
        });
        expect(problems).toEqual([]);
        expect(config).toEqual({
            token: "abc", apiUrl: "http://127.0.0.1:9999/api", guildId: "100000000000000001", registerCommands: false, allowDms: true,
            messageContentIntent: false, maxAttachmentBytes: 8 * 1024 * 1024,
        });
    });

    it("lists every bad value without echoing the token", () => {
        const {problems} = parseDiscordConfig({
            DISCORD_TOKEN: "Bot secret-token", DISCORD_API_URL: "ftp://x", DISCORD_GUILD_ID: "general", DISCORD_ALLOW_DMS: "maybe", DISCORD_MAX_ATTACHMENT_MB: "0",
        });
        expect(problems).toHaveLength(5);
        expect(problems.join("\n")).not.toContain("secret-token");
        expect(problems.find((problem) => problem.startsWith("DISCORD_TOKEN"))).toContain("without a \"Bot \" prefix");
    });
});
