import {EnvReader} from "../../src/core/EnvReader.ts";
import type {Env} from "../../src/core/EnvReader.ts";

/** The Discord adapter's settings, read from the environment by {@link parseDiscordConfig}. */
export interface DiscordConfig {
    /** The bot token (`DISCORD_TOKEN`). */
    readonly token: string;
    /**
     * REST base URL without the version (`DISCORD_API_URL`), e.g. `https://discord.com/api`;
     * undefined uses discord.js's default. The gateway URL is asked from this API.
     */
    readonly apiUrl: string | undefined;
    /** Register `/rwkv` in this server only (`DISCORD_GUILD_ID`, instant); undefined registers it globally. */
    readonly guildId: string | undefined;
    /** Register the slash command at start-up (`DISCORD_REGISTER_COMMANDS`). Defaults to true. */
    readonly registerCommands: boolean;
    /** Answer direct messages (`DISCORD_ALLOW_DMS`). Defaults to false. */
    readonly allowDms: boolean;
    /**
     * Ask for the privileged Message Content intent (`DISCORD_MESSAGE_CONTENT_INTENT`). Defaults
     * to true. The bot reads only messages that mention it and DMs, whose text Discord sends
     * without the intent too, so false works and spares the portal switch.
     */
    readonly messageContentIntent: boolean;
    /** Largest attachment read for `import`, in bytes (`DISCORD_MAX_ATTACHMENT_MB`). Defaults to 100 MiB. */
    readonly maxAttachmentBytes: number;
    /**
     * The gateway shards this process runs (`DISCORD_SHARD_IDS`, `DISCORD_SHARD_COUNT`): each guild's
     * events reach the process running its shard. `"auto"`: discord.js asks Discord how many and
     * runs them all. Undefined: one shard, the whole bot in this process.
     */
    readonly shards?: "auto" | {readonly ids: readonly number[]; readonly count: number};
}

const SNOWFLAKE = /^\d{17,20}$/;

/**
 * Reads the Discord settings. `config` is null when `DISCORD_TOKEN` is unset (Discord is off);
 * `problems` lists every bad value, one sentence each, and never echoes the token.
 */
export function parseDiscordConfig(env: Env): {config: DiscordConfig | null, problems: string[]} {
    const read = new EnvReader(env);
    const token = read.string("DISCORD_TOKEN");
    const apiUrl = read.url("DISCORD_API_URL", ["https:", "http:"]);
    const guildId = read.string("DISCORD_GUILD_ID");
    if (guildId !== undefined && !SNOWFLAKE.test(guildId)) read.problems.push(`DISCORD_GUILD_ID must be a server id (17–20 digits), got "${guildId}"`);
    const config: DiscordConfig = {
        token: token ?? "",
        apiUrl: apiUrl?.replace(/\/+$/, ""),
        guildId,
        registerCommands: read.boolean("DISCORD_REGISTER_COMMANDS", true),
        allowDms: read.boolean("DISCORD_ALLOW_DMS", false),
        messageContentIntent: read.boolean("DISCORD_MESSAGE_CONTENT_INTENT", true),
        maxAttachmentBytes: read.integer("DISCORD_MAX_ATTACHMENT_MB", 100, 1, 4096) * 1024 * 1024,
    };
    const shards = readShards(read);
    if (shards !== undefined) Object.assign(config, {shards});
    if (token !== undefined && /\s/.test(token)) read.problems.push("DISCORD_TOKEN contains whitespace; paste the bot token alone, without a \"Bot \" prefix");
    return {config: token === undefined ? null : config, problems: read.problems};
}

// `DISCORD_SHARD_IDS=0,2` with `DISCORD_SHARD_COUNT=4` runs shards 0 and 2 of 4; a count alone runs all of them; `auto` lets discord.js ask.
function readShards(read: EnvReader): DiscordConfig["shards"] {
    const ids = read.string("DISCORD_SHARD_IDS");
    if (ids === "auto") return "auto";
    const count = read.string("DISCORD_SHARD_COUNT") === undefined ? undefined : read.integer("DISCORD_SHARD_COUNT", 1, 1, 65535);
    if (ids === undefined) return count === undefined ? undefined : {ids: Array.from({length: count}, (_, i) => i), count};
    if (count === undefined) {
        read.problems.push("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the number of shards of the whole bot), or is auto");
        return undefined;
    }
    const list = ids.split(",").map((id) => id.trim());
    if (list.some((id) => !/^\d+$/.test(id) || Number(id) >= count)) {
        read.problems.push(`DISCORD_SHARD_IDS must be auto or shard numbers below DISCORD_SHARD_COUNT (${count}), separated by commas, got "${ids}"`);
        return undefined;
    }
    return {ids: [...new Set(list.map(Number))], count};
}
