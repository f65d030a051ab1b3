import {Client, DiscordjsErrorCodes, Events, GatewayIntentBits, MessageFlags, Partials, RESTEvents} from "discord.js";
import type {ChatInputCommandInteraction, GatewayDispatchPayload, Interaction, Message, PartialMessage} from "discord.js";
import type {Adapter, TurnHandler} from "../../src/core/Adapter.ts";
import type {Logger} from "../../src/core/Logger.ts";
import {noMetrics} from "../../src/core/Metrics.ts";
import type {Metrics} from "../../src/core/Metrics.ts";
import type {ReplySink} from "../../src/core/ReplySink.ts";
import type {AttachmentAddress, ReplyAddress, Turn, TurnAttachment} from "../../src/core/Turn.ts";
import {BotError, ConfigError, UserFacingError, asBotError} from "../../src/errors/BotError.ts";
import type {EditThrottle} from "../shared/EditThrottle.ts";
import {InFlightTurns} from "../shared/InFlightTurns.ts";
import {remoteAttachment} from "../shared/remoteAttachment.ts";
import type {RemoteFile} from "../shared/remoteAttachment.ts";
import type {DiscordConfig} from "./discordConfig.ts";
import {addressedReplyTarget} from "./addressedReplyTarget.ts";
import {describeError} from "./describeError.ts";
import {DiscordReplySink} from "./DiscordReplySink.ts";
import {interactionReplyTarget} from "./interactionReplyTarget.ts";
import {messageReplyTarget} from "./messageReplyTarget.ts";
import {readInteraction} from "./readInteraction.ts";
import type {InteractionChannelPayload} from "./readInteraction.ts";
import {readMessage} from "./readMessage.ts";
import type {ReplyTarget} from "./ReplyTarget.ts";
import {EXPORT_FORMAT_OPTION, IMPORT_FILE_OPTION, PERSONA_OPTION, RWKV_COMMAND, SETTINGS_OPTION, rwkvCommand} from "./rwkvCommand.ts";
import {toTurn} from "./toTurn.ts";

/** What a {@link DiscordAdapter} runs with. */
export interface DiscordAdapterOptions {
    readonly config: DiscordConfig;
    /** The process-wide edit budget, shared with the other adapters. */
    readonly editThrottle: EditThrottle;
    readonly logger: Logger;
    /** Counts the REST calls, retries and 429s. Defaults to {@link noMetrics}. */
    readonly metrics?: Metrics;
    /** How often typing is re-sent until the first text, in ms. Defaults to 8000. */
    readonly typingIntervalMs?: number;
}

// Gateway close codes after which discord.js gives up, with what the operator should do.
const FATAL_CLOSES: Readonly<Record<number, string>> = {
    4004: "Discord rejected DISCORD_TOKEN: copy the bot token again from the Developer Portal (Bot → Reset Token)",
    4013: "Discord refused the gateway intents as invalid",
    4014: "Discord refused the Message Content intent: enable it in the Developer Portal (Bot → Privileged Gateway Intents), or set DISCORD_MESSAGE_CONTENT_INTENT=0",
};

function closeReason(code: number): string {
    return FATAL_CLOSES[code] ?? `the Discord gateway closed the connection for good (code ${code})`;
}

/**
 * The Discord edge: a discord.js client that turns mentions, thread messages, enabled DMs and
 * `/rwkv` commands into turns, answers through {@link DiscordReplySink}s, and aborts a turn
 * when its message is deleted or the adapter stops. discord.js reconnects and resumes by
 * itself; the adapter logs it.
 */
export class DiscordAdapter implements Adapter {
    readonly platform = "discord";
    readonly #config: DiscordConfig;
    readonly #throttle: EditThrottle;
    readonly #log: Logger;
    readonly #metrics: Metrics;
    #connected = false;
    readonly #typingIntervalMs: number | undefined;
    readonly #inFlight = new InFlightTurns();
    // Interaction payloads' channels by interaction id, for threads discord.js has not cached.
    readonly #interactionChannels = new Map<string, InteractionChannelPayload>();
    #client: Client | null = null;

    constructor(options: DiscordAdapterOptions) {
        this.#config = options.config;
        this.#throttle = options.editThrottle;
        this.#log = options.logger.child({platform: "discord"});
        this.#metrics = options.metrics ?? noMetrics;
        this.#typingIntervalMs = options.typingIntervalMs;
    }

    get connected(): boolean {
        return this.#connected;
    }

    /** Logs in, waits for the servers, and registers `/rwkv`; rejects with a {@link ConfigError} naming the fix for a bad token or intent. */
    async start(onTurn: TurnHandler): Promise<void> {
        const config = this.#config;
        const client = new Client({
            intents: [
                GatewayIntentBits.Guilds,
                GatewayIntentBits.GuildMessages,
                GatewayIntentBits.DirectMessages,
                ...(config.messageContentIntent ? [GatewayIntentBits.MessageContent] : []),
            ],
            // DM channels are not cached before their first message.
            partials: [Partials.Channel],
            allowedMentions: {parse: [], repliedUser: false},
            ...(config.apiUrl !== undefined && {rest: {api: config.apiUrl}}),
            ...(config.shards === "auto" ? {shards: "auto" as const} : config.shards !== undefined && {shards: [...config.shards.ids], shardCount: config.shards.count}),
        });
        this.#client = client;
        client.on(Events.Raw, (packet: GatewayDispatchPayload) => this.#onRaw(packet));
        client.on(Events.MessageCreate, (message) => this.#onMessage(message, onTurn));
        client.on(Events.InteractionCreate, (interaction) => this.#onInteraction(interaction, onTurn));
        client.on(Events.MessageDelete, (message) => this.#abort(message, "the message was deleted"));
        client.on(Events.ShardReconnecting, () => {
            this.#connected = false;
            this.#log.warn("discord: connection lost, reconnecting");
        });
        client.on(Events.ShardResume, (_id, replayed) => {
            this.#connected = true;
            this.#log.info(`discord: connection resumed (${replayed} events replayed)`);
        });
        client.on(Events.ShardReady, () => (this.#connected = true));
        // discord.js retries a 429 (after its Retry-After) and a server error by itself.
        client.rest.on(RESTEvents.Response, (_request, response) => {
            this.#metrics.platformCall("discord", response.status < 400 ? "ok" : "error");
            if (response.status === 429) this.#metrics.platformRateLimited("discord");
            if (response.status === 429 || response.status >= 500) this.#metrics.platformRetry("discord");
        });
        client.on(Events.Error, (error) => this.#log.error(`discord: ${describeError(error)}`));
        client.on(Events.Warn, (message) => this.#log.warn(`discord: ${message}`));

        let fatalClose: number | null = null;
        client.on(Events.ShardDisconnect, ({code}) => {
            fatalClose = code;
            this.#connected = false;
            this.#log.error(`discord: ${closeReason(code)}`);
        });
        const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
        try {
            await client.login(config.token);
            const readyClient = await ready;
            this.#log.info(`discord: logged in as ${readyClient.user.tag} in ${readyClient.guilds.cache.size} server(s)`);
            if (config.registerCommands) await this.#registerCommands(readyClient);
        } catch (error) {
            await client.destroy();
            this.#client = null;
            const tokenRejected = error instanceof Error && "code" in error && error.code === DiscordjsErrorCodes.TokenInvalid;
            if (fatalClose !== null || tokenRejected) throw new ConfigError("config/discord_rejected", closeReason(fatalClose ?? 4004), {cause: error});
            throw new ConfigError("config/discord_unreachable", `could not connect to Discord: ${describeError(error)}`, {cause: error});
        }
    }

    /** Stops taking turns, aborts the ones in flight, waits for their last words (sent while still connected), and disconnects. */
    async stop(): Promise<void> {
        const client = this.#client;
        this.#client = null;
        this.#connected = false;
        this.#inFlight.abortAll(new UserFacingError("turn/aborted", "(cancelled: the bot is shutting down)"));
        await this.#inFlight.settled();
        await client?.destroy();
    }

    async #registerCommands(client: Client<true>): Promise<void> {
        const where = this.#config.guildId === undefined ? "globally (may take up to an hour to appear)" : `in server ${this.#config.guildId}`;
        try {
            const commands = [rwkvCommand(this.#config.allowDms)];
            await (this.#config.guildId === undefined ? client.application.commands.set(commands) : client.application.commands.set(commands, this.#config.guildId));
            this.#log.info(`discord: registered /${RWKV_COMMAND} ${where}`);
        } catch (error) {
            // Mention commands still work; the usual cause is an invite without the applications.commands scope.
            this.#log.warn(`discord: could not register /${RWKV_COMMAND} ${where} (was the bot invited with the applications.commands scope?): ${describeError(error)}`);
        }
    }

    #onMessage(message: Message, onTurn: TurnHandler): void {
        const botUserId = this.#client?.user?.id;
        if (botUserId === undefined || !message.channel.isSendable()) return;
        const controller = new AbortController();
        const turn = toTurn(readMessage(message), {botUserId, allowDms: this.#config.allowDms, signal: controller.signal});
        if (turn === null) return;
        const channel = message.channel;
        const sink = this.#sink(messageReplyTarget(async () => channel, message.id));
        this.#track(turn.id, controller, this.#handle(turn, sink, onTurn, message.attachments.first()));
    }

    #onRaw(packet: GatewayDispatchPayload): void {
        if (packet.t !== "INTERACTION_CREATE" || packet.d.channel === undefined) return;
        // Entries are taken by #onInteraction; a bound keeps any it never sees from piling up.
        if (this.#interactionChannels.size >= 1000) this.#interactionChannels.clear();
        this.#interactionChannels.set(packet.d.id, packet.d.channel);
    }

    #onInteraction(interaction: Interaction, onTurn: TurnHandler): void {
        const rawChannel = this.#interactionChannels.get(interaction.id);
        this.#interactionChannels.delete(interaction.id);
        if (!interaction.isChatInputCommand() || interaction.commandName !== RWKV_COMMAND) return;
        const controller = new AbortController();
        const started = this.#command(interaction, controller, onTurn, rawChannel);
        this.#track(interaction.id, controller, started);
    }

    async #command(
        interaction: ChatInputCommandInteraction,
        controller: AbortController,
        onTurn: TurnHandler,
        rawChannel: InteractionChannelPayload | undefined,
    ): Promise<void> {
        const botUserId = this.#client?.user?.id;
        if (botUserId === undefined) return;
        try {
            // Discord drops an interaction not answered within 3 s; generation takes longer.
            await interaction.deferReply({flags: MessageFlags.Ephemeral});
        } catch (error) {
            this.#log.warn(`discord: could not acknowledge /${RWKV_COMMAND} in channel ${interaction.channelId}: ${describeError(error)}`);
            return;
        }
        const sink = this.#sink(interactionReplyTarget(interaction.webhook));
        const file = interaction.options.getAttachment(IMPORT_FILE_OPTION) ?? undefined;
        const args = interaction.options.getString(SETTINGS_OPTION) ?? interaction.options.getString(PERSONA_OPTION) ?? interaction.options.getString(EXPORT_FORMAT_OPTION) ?? "";
        const command = {name: interaction.options.getSubcommand(), args: args.trim()};
        const turn = toTurn(readInteraction(interaction, command, file !== undefined, rawChannel), {botUserId, allowDms: this.#config.allowDms, signal: controller.signal});
        if (turn === null) {
            await sink.fail(new UserFacingError("adapter/dm_disabled", "This bot does not answer in direct messages."));
            return;
        }
        await this.#handle(turn, sink, onTurn, file);
    }

    /** Answers a turn another process received, through REST only (see {@link addressedReplyTarget}). */
    // Discord's attachment URLs need no credentials: the file is fetched as where it arrived.
    attachment(file: {readonly name: string; readonly size: number; readonly address: AttachmentAddress}, signal: AbortSignal): TurnAttachment {
        const url = file.address.url;
        if (url === undefined) throw new BotError("adapter/bad_attachment", "DiscordAdapter: an attachment address without a url");
        return remoteAttachment({name: file.name, size: file.size, url}, {maxBytes: this.#config.maxAttachmentBytes, signal, platform: "Discord"});
    }

    replySink(address: ReplyAddress): ReplySink {
        const client = this.#client;
        if (client === null || !client.isReady()) throw new BotError("adapter/not_started", "DiscordAdapter.replySink: the adapter is not started");
        return this.#sink(addressedReplyTarget(client, address));
    }

    #sink(target: ReplyTarget): ReplySink {
        return new DiscordReplySink(target, {
            throttle: this.#throttle,
            ...(this.#typingIntervalMs !== undefined && {typingIntervalMs: this.#typingIntervalMs}),
            log: this.#log,
        });
    }

    async #handle(turn: Turn, sink: ReplySink, onTurn: TurnHandler, file: RemoteFile | undefined): Promise<void> {
        try {
            const attachment = file === undefined ? undefined : remoteAttachment(file, {maxBytes: this.#config.maxAttachmentBytes, signal: turn.signal, platform: "Discord"});
            await onTurn(attachment === undefined ? turn : {...turn, attachment}, sink);
        } catch (error) {
            const failure = asBotError(error);
            if (!(failure instanceof UserFacingError)) this.#log.error(`discord: turn ${turn.id} in ${turn.conversation} failed: ${describeError(failure)}`);
            await sink.fail(failure);
        }
    }

    #track(id: string, controller: AbortController, work: Promise<void>): void {
        this.#inFlight.track(id, controller, work.catch((error: unknown) => this.#log.error(`discord: event ${id} was not handled: ${describeError(error)}`)));
    }

    #abort(message: Message | PartialMessage, why: string): void {
        this.#inFlight.abort(message.id, new BotError("turn/aborted", why));
    }
}
