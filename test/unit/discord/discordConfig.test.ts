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

    it("reads the shards this process runs", () => {
        const shards = (env: Record<string, string>) => parseDiscordConfig({DISCORD_TOKEN: "abc", ...env});
        expect(shards({DISCORD_SHARD_IDS: "0, 2", DISCORD_SHARD_COUNT: "4"}).config?.shards).toEqual({ids: [0, 2], count: 4});
        expect(shards({DISCORD_SHARD_COUNT: "2"}).config?.shards).toEqual({ids: [0, 1], count: 2});
        expect(shards({DISCORD_SHARD_IDS: "auto"}).config?.shards).toBe("auto");
        expect(shards({DISCORD_SHARD_IDS: "1"}).problems).toEqual(["DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the number of shards of the whole bot), or is auto"]);
        expect(shards({DISCORD_SHARD_IDS: "1,4", DISCORD_SHARD_COUNT: "4"}).problems).toEqual([
            "DISCORD_SHARD_IDS must be auto or shard numbers below DISCORD_SHARD_COUNT (4), separated by commas, got \"1,4\"",
        ]);
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
