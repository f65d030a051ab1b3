/**
 * Gateway payloads for {@link FakeDiscord}: one server with a channel and a thread, an owner,
 * an Administrator, a Manage Server holder and a plain member, plus DMs and slash commands.
 * Each payload carries the fields discord.js 14 reads from that gateway event (found by running
 * it against the fake), no more.
 */
import {PermissionFlagsBits} from "discord.js";

const EPOCH = 1_420_070_400_000n;
let counter = 0n;

/** A new, increasing snowflake carrying the current time. */
export function snowflake(): string {
    counter += 1n;
    return String(((BigInt(Date.now()) - EPOCH) << 22n) + (counter & 0x3fffffn));
}

export const ids = {
    guild: "100000000000000001",
    channel: "100000000000000010",
    thread: "100000000000000011",
    dmChannel: "100000000000000020",
    otherDmChannel: "100000000000000021",
    bot: "200000000000000001",
    application: "200000000000000001",
    adminRole: "400000000000000001",
    managerRole: "400000000000000002",
} as const;

/** The people in the server, with their roles. */
export const users = {
    owner: {id: "300000000000000001", username: "olive", roles: [] as string[]},
    admin: {id: "300000000000000002", username: "ada", roles: [ids.adminRole]},
    manager: {id: "300000000000000003", username: "manny", roles: [ids.managerRole]},
    member: {id: "300000000000000004", username: "mel", roles: [] as string[]},
    otherBot: {id: "300000000000000005", username: "robo", roles: [] as string[], bot: true},
} as const;

/** A user in the server, as the payloads spell it. */
export interface FakeUser {
    readonly id: string;
    readonly username: string;
    readonly roles: readonly string[];
    readonly bot?: boolean;
}

export const botUser = {id: ids.bot, username: "rwkv"};

const EVERYONE = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ReadMessageHistory;

function apiUser(user: {id: string, username: string, bot?: boolean}): Record<string, unknown> {
    return {id: user.id, username: user.username, global_name: null, discriminator: "0", avatar: null, ...(user.bot === true && {bot: true})};
}

/** The permission bits Discord would compute for `user` in the server. */
export function permissionsOf(user: FakeUser): bigint {
    if (user.id === users.owner.id) return EVERYONE | PermissionFlagsBits.Administrator;
    let bits = EVERYONE;
    if (user.roles.some((role) => role === ids.adminRole)) bits |= PermissionFlagsBits.Administrator;
    if (user.roles.some((role) => role === ids.managerRole)) bits |= PermissionFlagsBits.ManageGuild;
    return bits;
}

/** GUILD_CREATE for the one server. */
export function guildCreate(): Record<string, unknown> {
    return {
        id: ids.guild,
        name: "Test Server",
        owner_id: users.owner.id,
        roles: [
            {id: ids.guild, name: "@everyone", permissions: String(EVERYONE), position: 0},
            {id: ids.adminRole, name: "Admin", permissions: String(PermissionFlagsBits.Administrator), position: 2},
            {id: ids.managerRole, name: "Manager", permissions: String(PermissionFlagsBits.ManageGuild), position: 1},
        ],
        channels: [{id: ids.channel, type: 0, name: "general"}],
        members: [
            {user: apiUser({...botUser, bot: true}), roles: []},
            ...Object.values(users).map((user) => ({user: apiUser(user), roles: user.roles})),
        ],
    };
}

/** THREAD_CREATE for the thread under the channel. */
export function threadCreate(): Record<string, unknown> {
    return {
        id: ids.thread,
        type: 11,
        guild_id: ids.guild,
        parent_id: ids.channel,
        name: "a thread",
        owner_id: users.member.id,
        thread_metadata: {archived: false, auto_archive_duration: 60, archive_timestamp: new Date().toISOString(), locked: false},
    };
}

/** MESSAGE_CREATE in the server: by default in the channel, mentioning the bot at the start. */
export function guildMessage(author: FakeUser, content: string, options: {channelId?: string, mentionBot?: boolean, attachments?: unknown[]} = {}): Record<string, unknown> {
    const mention = options.mentionBot ?? true;
    return {
        id: snowflake(),
        channel_id: options.channelId ?? ids.channel,
        guild_id: ids.guild,
        author: apiUser(author),
        member: {roles: author.roles},
        content: mention ? `<@${ids.bot}> ${content}` : content,
        mentions: mention ? [apiUser({...botUser, bot: true})] : [],
        mention_roles: [],
        mention_everyone: false,
        attachments: options.attachments ?? [],
        embeds: [],
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        tts: false,
        pinned: false,
        type: 0,
        flags: 0,
    };
}

/** MESSAGE_CREATE in a DM; `channel_type: 1` is what lets discord.js build the uncached DM channel. */
export function dmMessage(author: FakeUser, content: string, channelId: string = ids.dmChannel): Record<string, unknown> {
    return {
        id: snowflake(),
        channel_id: channelId,
        channel_type: 1,
        author: apiUser(author),
        content,
        mentions: [],
        mention_roles: [],
        mention_everyone: false,
        attachments: [],
        embeds: [],
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        tts: false,
        pinned: false,
        type: 0,
        flags: 0,
    };
}

/**
 * INTERACTION_CREATE for `/rwkv <subcommand>` in the server. `member.permissions` is what
 * Discord computes; `permissions` overrides it (e.g. to show a role change the client has not seen).
 */
export function slashCommand(
    user: FakeUser,
    subcommand: string,
    options: {channelId?: string, permissions?: bigint, attachment?: {id: string, filename: string, size: number, url: string, proxy_url: string}, changes?: string, format?: string} = {},
): Record<string, unknown> {
    const id = snowflake();
    const channelId = options.channelId ?? ids.channel;
    const subOptions: Record<string, unknown>[] = [];
    if (options.attachment !== undefined) subOptions.push({type: 11, name: "file", value: options.attachment.id});
    if (options.changes !== undefined) subOptions.push({type: 3, name: "changes", value: options.changes});
    if (options.format !== undefined) subOptions.push({type: 3, name: "format", value: options.format});
    return {
        id,
        application_id: ids.application,
        type: 2,
        token: `interaction-token-${id}`,
        version: 1,
        guild_id: ids.guild,
        channel_id: channelId,
        channel: channelId === ids.thread
            ? {id: channelId, type: 11, guild_id: ids.guild, parent_id: ids.channel, name: "a thread"}
            : {id: channelId, type: 0, guild_id: ids.guild, name: "general"},
        data: {
            id: "500000000000000001",
            name: "rwkv",
            type: 1,
            options: [{type: 1, name: subcommand, options: subOptions}],
            ...(options.attachment !== undefined && {resolved: {attachments: {[options.attachment.id]: options.attachment}}}),
        },
        member: {user: apiUser(user), roles: user.roles, permissions: String(options.permissions ?? permissionsOf(user)), joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0},
        app_permissions: String(EVERYONE),
        locale: "en-US",
        guild_locale: "en-US",
        entitlements: [],
        authorizing_integration_owners: {"0": ids.guild},
        context: 0,
    };
}
