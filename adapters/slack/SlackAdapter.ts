import type {Server} from "node:http";
import type {AddressInfo} from "node:net";
import {App, LogLevel, SocketModeReceiver} from "@slack/bolt";
import type {AllMiddlewareArgs, SlackCommandMiddlewareArgs, SlackEventMiddlewareArgs, webApi} from "@slack/bolt";
import type {Adapter, TurnHandler} from "../../src/core/Adapter.ts";
import type {Logger} from "../../src/core/Logger.ts";
import {noMetrics} from "../../src/core/Metrics.ts";
import type {Metrics} from "../../src/core/Metrics.ts";
import type {ReplySink} from "../../src/core/ReplySink.ts";
import type {AttachmentAddress, ReplyAddress, TurnAttachment} from "../../src/core/Turn.ts";
import {asBotError, BotError, UserFacingError} from "../../src/errors/BotError.ts";
import {EditThrottle} from "../shared/EditThrottle.ts";
import {InFlightTurns} from "../shared/InFlightTurns.ts";
import {remoteAttachment} from "../shared/remoteAttachment.ts";
import {boltLogger} from "./boltLogger.ts";
import {HeldAcks} from "./HeldAcks.ts";
import type {Ack} from "./HeldAcks.ts";
import {RecentIds} from "./RecentIds.ts";
import {slackClientOptions} from "./slackClientOptions.ts";
import type {SlackConfig} from "./slackConfig.ts";
import {SlackReplySink} from "./SlackReplySink.ts";
import type {SlackMessaging} from "./SlackReplySink.ts";
import {SlackUsers} from "./SlackUsers.ts";
import {slackAuthorId, slackReplyAddress, toTurn} from "./toTurn.ts";
import type {SlackSource, SlackTurnContext} from "./toTurn.ts";

/** Construction options of a {@link SlackAdapter}. */
export interface SlackAdapterOptions {
    readonly config: SlackConfig;
    /** Shared edit budget of the process; the adapter makes (and stops) its own when absent. */
    readonly throttle?: EditThrottle;
    readonly logger: Logger;
    /** Counts the Web API calls, retries and 429s. Defaults to {@link noMetrics}. */
    readonly metrics?: Metrics;
    /** Bolt's own log level (default warn). */
    readonly boltLogLevel?: LogLevel;
    /** Largest attached file an `import` downloads (default 256 MiB, a 12B state is ~43 MB). */
    readonly maxAttachmentBytes?: number;
}

// How long an event's acknowledgement waits for its turn to be journaled: Slack redelivers what it
// has not seen acknowledged within 3 s, and the author's lookup and the routing come first.
const ACK_BUDGET_MS = 2_000;

type MentionArgs = SlackEventMiddlewareArgs<"app_mention"> & AllMiddlewareArgs;
type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
type MentionFile = NonNullable<MentionArgs["event"]["files"]>[number];

/**
 * The Slack edge: a Bolt app in HTTP mode (signed requests; bad or stale signatures get 401
 * from Bolt before anything runs) or Socket Mode. `app_mention`s are answered in a thread,
 * `/rwkv` commands are acknowledged at once and answered afterwards. Slack redelivers events
 * it thinks were missed, so each `event_id` runs once.
 */
export class SlackAdapter implements Adapter {
    readonly platform = "slack" as const;
    readonly #config: SlackConfig;
    readonly #logger: Logger;
    readonly #metrics: Metrics;
    readonly #throttle: EditThrottle;
    readonly #ownsThrottle: boolean;
    readonly #boltLogLevel: LogLevel;
    readonly #maxAttachmentBytes: number;
    readonly #users: SlackUsers;
    readonly #recentEvents = new RecentIds();
    readonly #inFlight = new InFlightTurns();
    readonly #heldAcks = new HeldAcks(ACK_BUDGET_MS);
    #app: App | null = null;
    #server: Server | null = null;
    #socketOpen = false;

    constructor(options: SlackAdapterOptions) {
        this.#config = options.config;
        this.#logger = options.logger.child({platform: "slack"});
        this.#metrics = options.metrics ?? noMetrics;
        this.#ownsThrottle = options.throttle === undefined;
        this.#throttle = options.throttle ?? new EditThrottle();
        this.#boltLogLevel = options.boltLogLevel ?? LogLevel.WARN;
        this.#maxAttachmentBytes = options.maxAttachmentBytes ?? 256 * 1024 * 1024;
        this.#users = new SlackUsers(this.#config.adminUserIds, (error) => this.#logger.warn("slack: users.info failed", error));
    }

    /** HTTP mode: started and not stopped (its server listens). Socket Mode: the socket is open now. */
    get connected(): boolean {
        return this.#app !== null && (this.#config.mode.kind === "http" || this.#socketOpen);
    }

    // Made here rather than by Bolt, to follow the socket: Bolt's client reconnects by itself, and says so.
    #socketReceiver(appToken: string, clientOptions: webApi.WebClientOptions, logger: ReturnType<typeof boltLogger>): SocketModeReceiver {
        // The Socket Mode client has its own WebClient: App.clientOptions does not reach it.
        const receiver = new SocketModeReceiver({appToken, logger, logLevel: this.#boltLogLevel, installerOptions: {clientOptions}});
        // Bolt acknowledges an event before any listener runs: the ack it is given for a mention or a command is held
        // until the listener has journaled the turn (the receiver gives Bolt what the client emits).
        const {client} = receiver;
        const emit = client.emit.bind(client) as (name: string | symbol, ...args: unknown[]) => boolean;
        client.emit = ((name: string | symbol, ...args: unknown[]): boolean => {
            const event = args[0] as {ack: Ack; body?: {event?: {type?: string}; command?: string}} | undefined;
            if (name !== "slack_event" || event?.body === undefined || (event.body.event?.type !== "app_mention" && event.body.command === undefined)) return emit(name, ...args);
            const ack = this.#heldAcks.hold(event.body, event.ack, (error) => this.#logger.warn("slack: acknowledging an envelope failed", error));
            return emit(name, {...event, ack});
        }) as typeof client.emit;
        receiver.client.on("connected", () => (this.#socketOpen = true));
        for (const lost of ["reconnecting", "disconnected"]) receiver.client.on(lost, () => (this.#socketOpen = false));
        return receiver;
    }

    /** The bound HTTP port in HTTP mode once started (useful with port 0). */
    get port(): number | undefined {
        const address = this.#server?.address();
        return address !== null && typeof address === "object" ? (address as AddressInfo).port : undefined;
    }

    async start(onTurn: TurnHandler): Promise<void> {
        if (this.#app !== null) throw new Error("SlackAdapter.start: already started");
        const config = this.#config;
        const clientOptions = slackClientOptions(config.apiUrl, () => {
            this.#metrics.platformRateLimited("slack");
            this.#metrics.platformRetry("slack");
        });
        const ids = {
            ...(config.botUserId === undefined ? {} : {botUserId: config.botUserId}),
            ...(config.botId === undefined ? {} : {botId: config.botId}),
        };
        const logger = boltLogger(this.#logger, this.#boltLogLevel);
        const app = config.mode.kind === "http"
            // processBeforeResponse: the HTTP response (Slack's acknowledgement) waits for the listener, which returns once the turn is journaled.
            ? new App({token: config.botToken, signingSecret: config.mode.signingSecret, clientOptions, logger, logLevel: this.#boltLogLevel, processBeforeResponse: true, ...ids})
            : new App({token: config.botToken, receiver: this.#socketReceiver(config.mode.appToken, clientOptions, logger), clientOptions, logger, logLevel: this.#boltLogLevel, ...ids});
        app.event("app_mention", (args) => this.#onMention(args, onTurn));
        app.command(config.command, (args) => this.#onCommand(args, onTurn));
        app.error(async (error) => {
            this.#logger.error("slack: unhandled error", error);
        });
        this.#app = app;
        if (config.mode.kind === "http") {
            const listen = config.mode.host === undefined ? {port: config.mode.port} : {port: config.mode.port, host: config.mode.host};
            this.#server = (await app.start(listen)) as Server;
        } else {
            await app.start();
        }
    }

    async stop(): Promise<void> {
        const app = this.#app;
        this.#app = null;
        this.#inFlight.abortAll(new UserFacingError("turn/aborted", "(cancelled: the bot is shutting down)"));
        await app?.stop();
        this.#server = null;
        await this.#inFlight.settled();
        if (this.#ownsThrottle) await this.#throttle.stop();
    }

    // Returns once the turn is journaled (or ACK_BUDGET_MS passed): Slack gets its acknowledgement then (HTTP: the response; Socket Mode: the held ack).
    async #onMention({event, body, context, client}: MentionArgs, onTurn: TurnHandler): Promise<void> {
        try {
            if (this.#recentEvents.checkAndAdd(body.event_id)) return;
            const teamId = body.team_id ?? event.team ?? context.teamId ?? "";
            const source: SlackSource = {kind: "mention", eventId: body.event_id, teamId, event, botUserId: context.botUserId};
            const authorId = slackAuthorId(source);
            if (authorId === null) return;
            const sink = this.#sinkAt(client, slackReplyAddress(source));
            await this.#track(async (signal) => {
                // The delivering workspace, never the author's own `event.team`: roles count only there.
                const author = await this.#users.author((args) => client.users.info(args), body.team_id ?? context.teamId ?? "", authorId);
                const file = event.files?.[0];
                const attachment = file === undefined ? undefined : this.#attachment(file, signal);
                return {source, context: {author, receivedAt: Date.now(), signal, ...(attachment === undefined ? {} : {attachment})}};
            }, onTurn, sink);
        } finally {
            this.#heldAcks.release(body);
        }
    }

    async #onCommand({command, ack, body, client}: CommandArgs, onTurn: TurnHandler): Promise<void> {
        try {
            // Slack shows an error unless the command is acknowledged within 3 s. In HTTP mode this only stores the
            // response and in Socket Mode the ack is held: either goes out once the turn is journaled, well within that.
            await ack();
            const source: SlackSource = {kind: "command", command};
            const sink = this.#sinkAt(client, slackReplyAddress(source));
            await this.#track(async (signal) => {
                const author = await this.#users.author((args) => client.users.info(args), command.team_id, command.user_id);
                return {source, context: {author, receivedAt: Date.now(), signal}};
            }, onTurn, sink);
        } finally {
            this.#heldAcks.release(body);
        }
    }

    replySink(address: ReplyAddress): ReplySink {
        if (this.#app === null) throw new Error("SlackAdapter.replySink: not started");
        return this.#sinkAt(this.#app.client, address);
    }

    // One way to answer, whichever process received the event: everything the sink needs is in the address.
    #sinkAt(client: webApi.WebClient, address: ReplyAddress): SlackReplySink {
        const {channel, thread, responseUrl} = address;
        if (channel === undefined) throw new Error("SlackAdapter: a reply address without a channel");
        const notice = responseUrl === undefined ? {} : {notice: (text: string) => this.#respond(responseUrl, text)};
        return new SlackReplySink({...this.#messaging(client, channel, thread), ...notice}, this.#throttle, {
            // A slash command's reply is not awaited in a thread: no placeholder.
            ...(responseUrl === undefined ? {} : {placeholder: null}),
            log: this.#logger,
        });
    }

    // What Bolt's `respond` does, from any process: an ephemeral note to the command's `response_url`.
    async #respond(responseUrl: string, text: string): Promise<void> {
        const response = await fetch(responseUrl, {
            method: "POST", headers: {"content-type": "application/json"},
            body: JSON.stringify({response_type: "ephemeral", replace_original: false, text}),
        });
        if (!response.ok) throw new Error(`response_url answered ${response.status}`);
    }

    /**
     * Runs one turn in the background; failures are answered. Resolves once the core accepted it
     * (journaled, see `TurnHandler`), once it ended, or after ACK_BUDGET_MS, whichever comes first.
     */
    async #track(
        resolve: (signal: AbortSignal) => Promise<{source: SlackSource; context: SlackTurnContext}>,
        onTurn: TurnHandler,
        sink: SlackReplySink,
    ): Promise<void> {
        const controller = new AbortController();
        let accept!: () => void;
        const accepted = new Promise<void>((resolve) => (accept = resolve));
        const run = (async () => {
            try {
                const {source, context} = await resolve(controller.signal);
                const turn = toTurn(source, context);
                if (turn !== null) await onTurn(turn, sink, accept);
            } catch (error) {
                const botError = asBotError(error);
                if (botError instanceof UserFacingError) this.#logger.warn("slack: turn refused", botError);
                else this.#logger.error("slack: turn failed", botError);
                await sink.fail(botError);
            } finally {
                accept();
            }
        })();
        this.#inFlight.track(undefined, controller, run);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([accepted, new Promise<void>((resolve) => (timer = setTimeout(resolve, ACK_BUDGET_MS)))]);
        clearTimeout(timer);
    }

    #messaging(client: webApi.WebClient, channel: string, threadTs: string | undefined): SlackMessaging {
        const thread = threadTs === undefined ? {} : {thread_ts: threadTs};
        return countCalls(this.#metrics, {
            post: async (text) => {
                const response = await client.chat.postMessage({channel, text, ...thread, unfurl_links: false, unfurl_media: false});
                if (response.ts === undefined) throw new Error("chat.postMessage returned no ts");
                return response.ts;
            },
            edit: async (ts, text) => {
                // chat.update parses like a client by default, which would turn a typed "@channel" into a mention.
                await client.chat.update({channel, ts, text, parse: "none"});
            },
            remove: async (ts) => {
                await client.chat.delete({channel, ts});
            },
            upload: async (file) => {
                await client.filesUploadV2({channel_id: channel, ...thread, file: Buffer.from(file.bytes), filename: file.name});
            },
        });
    }

    /** A file shared with the mention (e.g. a state to import), fetched with the bot token only if a command reads it. */
    #attachment(file: MentionFile, signal: AbortSignal): TurnAttachment {
        return this.attachment({name: file.name, size: file.size, address: {url: file.url_private_download ?? file.url_private}}, signal);
    }

    attachment(file: {readonly name: string; readonly size: number; readonly address: AttachmentAddress}, signal: AbortSignal): TurnAttachment {
        const url = file.address.url;
        if (url === undefined) throw new BotError("adapter/bad_attachment", "SlackAdapter: an attachment address without a url");
        return remoteAttachment(
            {name: file.name, size: file.size, url, headers: {authorization: `Bearer ${this.#config.botToken}`}},
            {maxBytes: this.#maxAttachmentBytes, signal, timeoutMs: 120_000, platform: "Slack"},
        );
    }
}

// Each Web API call of a reply, counted once whatever WebClient retried inside it.
function countCalls(metrics: Metrics, messaging: SlackMessaging): SlackMessaging {
    const counted = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
        try {
            const result = await call(...args);
            metrics.platformCall("slack", "ok");
            return result;
        } catch (error) {
            metrics.platformCall("slack", "error");
            throw error;
        }
    };
    return {post: counted(messaging.post), edit: counted(messaging.edit), remove: counted(messaging.remove), upload: counted(messaging.upload)};
}
