import type {DiscordConfig} from "../../../adapters/discord/discordConfig.ts";
import type {Logger} from "../../../src/core/Logger.ts";
import {FakeDiscord} from "./FakeDiscord.ts";
import {recordingLog} from "../../helpers/testLoggers.ts";
import type {FakeDiscordOptions} from "./FakeDiscord.ts";
import {botUser, guildCreate, ids, threadCreate} from "./discordPayloads.ts";

/** The token the fake accepts. */
export const TEST_TOKEN = "fake-bot-token";

/** A fake with the test server, its thread, and the bot of {@link discordPayloads}. */
export function startFakeDiscord(overrides: Partial<FakeDiscordOptions> = {}): Promise<FakeDiscord> {
    return FakeDiscord.start({token: TEST_TOKEN, botUser, applicationId: ids.application, guilds: [guildCreate()], threads: [threadCreate()], ...overrides});
}

/** Adapter settings pointing at `fake`, registering `/rwkv` in the test server, DMs on. */
export function fakeDiscordConfig(fake: FakeDiscord, overrides: Partial<DiscordConfig> = {}): DiscordConfig {
    return {
        token: TEST_TOKEN,
        apiUrl: fake.apiBase,
        guildId: ids.guild,
        registerCommands: true,
        allowDms: true,
        messageContentIntent: true,
        maxAttachmentBytes: 1024 * 1024,
        ...overrides,
    };
}

/** A logger that keeps its lines (`level message`), for assertions and for quiet test output. */
export function recordingLogger(): Logger & {readonly lines: string[]} {
    const log = recordingLog();
    return {
        ...log,
        // Read when asked: the adapter's child loggers add to the same entries.
        get lines() {
            return log.entries.map((entry) => `${entry.level} ${entry.message}${entry.error === undefined ? "" : `: ${String(entry.error)}`}`);
        },
    };
}
