import {createServer} from "node:http";
import type {IncomingMessage, Server, ServerResponse} from "node:http";
import type {AddressInfo} from "node:net";
import {WebSocketServer} from "ws";
import type {WebSocket} from "ws";
import {snowflake} from "./discordPayloads.ts";

/** One REST request the bot made, as the fake understood it. */
export interface RecordedCall {
    readonly method: string;
    /** Decoded path below `/api/v10`, e.g. `/channels/1/messages`. */
    readonly path: string;
    /** `Date.now()` on arrival. */
    readonly at: number;
    readonly authorization: string | null;
    /** The JSON body, or a multipart request's `payload_json`. */
    readonly body: Record<string, unknown> | null;
    /** A multipart request's files. */
    readonly files: readonly {readonly name: string, readonly bytes: Uint8Array}[];
    /** The status the fake answered. */
    status: number;
    /** The body the fake answered. */
    response: unknown;
}

/** A message as the fake stores it (a Discord API message object). */
export type ApiMessage = Record<string, unknown> & {id: string, channel_id: string, content: string};

/** What the fake's gateway sends after READY. */
export interface FakeDiscordOptions {
    /** The token IDENTIFY and REST must carry; anything else is refused like Discord does. */
    readonly token: string;
    readonly botUser: {readonly id: string, readonly username: string};
    readonly applicationId: string;
    /** GUILD_CREATE payloads, sent after READY. */
    readonly guilds: readonly Record<string, unknown>[];
    /** THREAD_CREATE payloads, sent after the guilds. */
    readonly threads?: readonly Record<string, unknown>[];
    /** Intent bits the "Developer Portal" has not enabled: IDENTIFY with any of them is closed with 4014. */
    readonly refusedIntents?: number;
    /** Content limit the fake enforces (discord.js does not). Defaults to 2000. */
    readonly contentLimit?: number;
    /** The shard count `/gateway/bot` recommends (what `shards: "auto"` runs). Defaults to 1. */
    readonly shards?: number;
}

/** The gateway shard a guild's events go to, as Discord computes it. */
export function shardOf(guildId: string, count: number): number {
    return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

/**
 * A loopback Discord: REST under `/api/v10` and a JSON gateway at `/gateway`, enough for the
 * real discord.js to log in, receive messages and slash commands, and answer them. It records every REST call,
 * enforces the content limit, and answers 429 on demand.
 */
export class FakeDiscord {
    /** `ClientOptions.rest.api` / `DISCORD_API_URL`. */
    readonly apiBase: string;
    readonly calls: RecordedCall[] = [];
    /** Every message the bot posted or edited, by id, as last edited. */
    readonly messages = new Map<string, ApiMessage>();
    /** IDENTIFY payloads received, in order (`shard`: [id, count]). */
    readonly identifies: {token: string, intents: number, shard: [number, number]}[] = [];
    /** RESUME payloads received. */
    resumes = 0;
    /** Attachment downloads served. */
    downloads = 0;
    readonly #options: FakeDiscordOptions;
    readonly #server: Server;
    readonly #wss = new WebSocketServer({noServer: true});
    readonly #files = new Map<string, Uint8Array>();
    /** `original:<interaction token>` → the id of that interaction's reply. */
    readonly #originals = new Map<string, string>();
    readonly #origin: string;
    #socket: WebSocket | null = null;
    // With several shards: each one's socket, and how many there are.
    readonly #shardSockets = new Map<number, WebSocket>();
    #shardCount = 1;
    #seq = 0;
    #rateLimits: {left: number, match: (call: RecordedCall) => boolean} | null = null;

    private constructor(options: FakeDiscordOptions, server: Server, origin: string) {
        this.#options = options;
        this.#server = server;
        this.#origin = origin;
        this.apiBase = `${origin}/api`;
        this.#wss.on("connection", (socket) => this.#onConnection(socket));
        server.on("request", (request, response) => void this.#onRequest(request, response));
        server.on("upgrade", (request, socket, head) => {
            if (!request.url?.startsWith("/gateway")) return socket.destroy();
            this.#wss.handleUpgrade(request, socket, head, (ws) => this.#wss.emit("connection", ws, request));
        });
    }

    /** Starts a fake on a free loopback port. */
    static async start(options: FakeDiscordOptions): Promise<FakeDiscord> {
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const {port} = server.address() as AddressInfo;
        return new FakeDiscord(options, server, `http://127.0.0.1:${port}`);
    }

    /** Serves `bytes` as a Discord CDN attachment; returns the attachment object for a payload. */
    attachment(filename: string, bytes: Uint8Array): {id: string, filename: string, size: number, url: string, proxy_url: string} {
        const id = snowflake();
        this.#files.set(id, bytes);
        const url = `${this.#origin}/attachments/${id}/${encodeURIComponent(filename)}`;
        return {id, filename, size: bytes.byteLength, url, proxy_url: url};
    }

    /** Sends a gateway dispatch (`op 0`) to the connected client: with several shards, to the one of the payload's guild. */
    dispatch(t: string, d: unknown): void {
        const guildId = (d as {guild_id?: unknown} | null)?.guild_id;
        const socket = this.#shardCount > 1 && typeof guildId === "string" ? this.#shardSockets.get(shardOf(guildId, this.#shardCount)) : this.#socket;
        socket?.send(JSON.stringify({op: 0, s: ++this.#seq, t, d}));
    }

    /** Resolves with the first truthy value of `pred`, polled every 10 ms; rejects after `timeoutMs`. */
    async waitFor<T>(pred: () => T | undefined | null | false, timeoutMs = 5000, what = "condition"): Promise<T> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const value = pred();
            if (value !== undefined && value !== null && value !== false) return value;
            if (Date.now() > deadline) throw new Error(`FakeDiscord: timed out waiting for ${what}`);
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
    }

    /** The next `count` REST calls that `match` (default: any POST or PATCH) are answered 429. */
    injectRateLimit(count = 1, match: (call: RecordedCall) => boolean = (call) => call.method === "POST" || call.method === "PATCH"): void {
        this.#rateLimits = {left: count, match};
    }

    /** Closes the gateway socket with `code`; 4000 lets the client resume. */
    dropConnection(code = 4000): void {
        this.#socket?.close(code, "fake drop");
    }

    /** REST calls with this method whose path matches. */
    callsTo(method: string, path: RegExp): RecordedCall[] {
        return this.calls.filter((call) => call.method === method && path.test(call.path));
    }

    async close(): Promise<void> {
        for (const client of this.#wss.clients) client.terminate();
        this.#wss.close();
        this.#server.closeAllConnections();
        await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }

    #onConnection(socket: WebSocket): void {
        this.#socket = socket;
        // A long heartbeat interval keeps short tests quiet; the client still heartbeats on its own schedule.
        socket.send(JSON.stringify({op: 10, d: {heartbeat_interval: 45_000}}));
        socket.on("message", (raw) => {
            const packet = JSON.parse(String(raw)) as {op: number, d: Record<string, unknown>};
            if (packet.op === 1) socket.send(JSON.stringify({op: 11}));
            else if (packet.op === 2) this.#identify(socket, packet.d);
            else if (packet.op === 6) {
                this.resumes += 1;
                this.dispatch("RESUMED", {});
            }
        });
    }

    #identify(socket: WebSocket, d: Record<string, unknown>): void {
        const token = String(d.token);
        const intents = Number(d.intents);
        const [shard, count] = Array.isArray(d.shard) ? (d.shard as [number, number]) : [0, 1];
        this.identifies.push({token, intents, shard: [shard, count]});
        if (token !== this.#options.token) return socket.close(4004, "Authentication failed.");
        if (((this.#options.refusedIntents ?? 0) & intents) !== 0) return socket.close(4014, "Disallowed intent(s).");
        this.#seq = 0;
        this.#shardSockets.set(shard, socket);
        this.#shardCount = count;
        // Each shard is told only of its own guilds.
        const mine = (guildId: unknown) => shardOf(String(guildId), count) === shard;
        const send = (t: string, payload: unknown) => socket.send(JSON.stringify({op: 0, s: ++this.#seq, t, d: payload}));
        const wsUrl = `${this.#origin.replace("http:", "ws:")}/gateway`;
        send("READY", {
            v: 10,
            user: {...this.#options.botUser, bot: true, discriminator: "0"},
            guilds: this.#options.guilds.filter((guild) => mine(guild.id)).map((guild) => ({id: guild.id, unavailable: true})),
            session_id: "fake-session",
            resume_gateway_url: wsUrl,
            application: {id: this.#options.applicationId, flags: 0},
            shard: [shard, count],
        });
        for (const guild of this.#options.guilds) if (mine(guild.id)) send("GUILD_CREATE", guild);
        for (const thread of this.#options.threads ?? []) if (mine(thread.guild_id)) send("THREAD_CREATE", thread);
    }

    async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const raw = Buffer.concat(chunks);
        const url = new URL(request.url ?? "/", this.#origin);
        if (url.pathname.startsWith("/attachments/")) {
            const bytes = this.#files.get(url.pathname.split("/")[2] ?? "");
            if (bytes === undefined) return reply(response, 404, {message: "Unknown attachment"});
            this.downloads += 1;
            response.writeHead(200, {"content-type": "application/octet-stream", "content-length": bytes.byteLength});
            response.end(bytes);
            return;
        }
        const contentType = request.headers["content-type"] ?? "";
        let body: Record<string, unknown> | null = null;
        const files: {name: string, bytes: Uint8Array}[] = [];
        if (contentType.startsWith("multipart/form-data")) {
            const form = await new Response(raw, {headers: {"content-type": contentType}}).formData();
            for (const [field, value] of form) {
                if (typeof value === "string") {
                    if (field === "payload_json") body = JSON.parse(value) as Record<string, unknown>;
                } else files.push({name: value.name, bytes: new Uint8Array(await value.arrayBuffer())});
            }
        } else if (raw.length > 0) body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;

        const path = decodeURIComponent(url.pathname.replace(/^\/api\/v\d+/, ""));
        const call: RecordedCall = {method: request.method ?? "GET", path, at: Date.now(), authorization: request.headers.authorization ?? null, body, files, status: 0, response: null};
        this.calls.push(call);
        const [status, answer] = this.#route(call);
        call.status = status;
        call.response = answer;
        if (status === 429) {
            response.writeHead(429, {
                "content-type": "application/json",
                "retry-after": "0.3",
                "x-ratelimit-limit": "5",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset-after": "0.3",
                "x-ratelimit-bucket": "fake-bucket",
                "x-ratelimit-scope": "user",
            });
            response.end(JSON.stringify(answer));
            return;
        }
        reply(response, status, answer);
    }

    #route(call: RecordedCall): [number, unknown] {
        const {method, path, body} = call;
        const limits = this.#rateLimits;
        if (limits !== null && limits.left > 0 && limits.match(call)) {
            limits.left -= 1;
            return [429, {message: "You are being rate limited.", retry_after: 0.3, global: false}];
        }
        const webhook = /^\/webhooks\/\d+\/[^/]+/.test(path);
        const interactionCallback = /^\/interactions\/\d+\/[^/]+\/callback$/.test(path);
        if (!webhook && !interactionCallback && call.authorization !== `Bot ${this.#options.token}`) return [401, {message: "401: Unauthorized", code: 0}];

        let match: RegExpMatchArray | null;
        if (method === "GET" && path === "/gateway/bot") {
            return [200, {url: `${this.#origin.replace("http:", "ws:")}/gateway`, shards: this.#options.shards ?? 1, session_start_limit: {total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1}}];
        }
        if (method === "GET" && (match = path.match(/^\/channels\/(\d+)$/))) return this.#channel(match[1] as string);
        if (method === "POST" && (match = path.match(/^\/channels\/(\d+)\/typing$/))) return [204, null];
        if (method === "POST" && (match = path.match(/^\/channels\/(\d+)\/messages$/))) return this.#create(match[1] as string, call, {});
        if (method === "PATCH" && (match = path.match(/^\/channels\/(\d+)\/messages\/(\d+)$/))) return this.#edit(match[2] as string, body);
        if (method === "PUT" && (match = path.match(/^\/applications\/(\d+)(?:\/guilds\/\d+)?\/commands$/))) {
            const commands = (Array.isArray(body) ? body : []) as Record<string, unknown>[];
            return [200, commands.map((command) => ({...command, id: snowflake(), application_id: match?.[1], version: "1", type: 1}))];
        }
        if (method === "POST" && interactionCallback) return [204, null];
        if ((match = path.match(/^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/))) {
            const alias = `original:${match[2]}`;
            const id = match[3] === "@original" ? this.#originals.get(alias) : match[3];
            if (method === "PATCH") {
                // The first edit of a deferred reply creates it.
                if (id === undefined) return this.#create("0", call, {webhook_id: match[1]}, alias);
                return this.#edit(id, body);
            }
        }
        if (method === "POST" && (match = path.match(/^\/webhooks\/(\d+)\/([^/]+)$/))) return this.#create("0", call, {webhook_id: match[1]});
        return [404, {message: "404: Not Found", code: 0}];
    }

    // A guild channel or thread of the options, as `GET /channels/:id` answers it.
    #channel(id: string): [number, unknown] {
        for (const guild of this.#options.guilds) {
            const found = (guild.channels as Record<string, unknown>[] | undefined)?.find((channel) => channel.id === id);
            if (found !== undefined) return [200, {...found, guild_id: guild.id}];
        }
        const thread = this.#options.threads?.find((channel) => channel.id === id);
        return thread === undefined ? [404, {code: 10003, message: "Unknown Channel"}] : [200, thread];
    }

    #tooLong(content: unknown): [number, unknown] | null {
        const limit = this.#options.contentLimit ?? 2000;
        if (typeof content !== "string" || content.length <= limit) return null;
        return [400, {code: 50035, message: "Invalid Form Body", errors: {content: {_errors: [{code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${limit} or fewer in length.`}]}}}];
    }

    #create(channelId: string, call: RecordedCall, extra: Record<string, unknown>, alias?: string): [number, unknown] {
        const body = call.body ?? {};
        const tooLong = this.#tooLong(body.content);
        if (tooLong !== null) return tooLong;
        if ((typeof body.content !== "string" || body.content === "") && call.files.length === 0) return [400, {code: 50006, message: "Cannot send an empty message"}];
        const id = snowflake();
        const message: ApiMessage = {
            id,
            channel_id: channelId,
            author: {...this.#options.botUser, bot: true, discriminator: "0"},
            content: typeof body.content === "string" ? body.content : "",
            timestamp: new Date().toISOString(),
            edited_timestamp: null,
            tts: false,
            mention_everyone: false,
            mentions: [],
            mention_roles: [],
            attachments: call.files.map((file) => this.attachment(file.name, file.bytes)),
            embeds: [],
            pinned: false,
            type: body.message_reference === undefined ? 0 : 19,
            flags: typeof body.flags === "number" ? body.flags : 0,
            ...(body.message_reference !== undefined && {message_reference: body.message_reference}),
            ...extra,
        };
        this.messages.set(id, message);
        if (alias !== undefined) this.#originals.set(alias, id);
        return [200, message];
    }

    #edit(id: string, body: Record<string, unknown> | null): [number, unknown] {
        const message = this.messages.get(id);
        if (message === undefined) return [404, {code: 10008, message: "Unknown Message"}];
        const tooLong = this.#tooLong(body?.content);
        if (tooLong !== null) return tooLong;
        if (typeof body?.content === "string") message.content = body.content;
        message.edited_timestamp = new Date().toISOString();
        return [200, message];
    }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
    if (status === 204) {
        response.writeHead(204);
        response.end();
        return;
    }
    response.writeHead(status, {"content-type": "application/json"});
    response.end(JSON.stringify(body));
}
