import {createHmac} from "node:crypto";
import {createServer} from "node:http";
import type {IncomingMessage, Server, ServerResponse} from "node:http";
import type {AddressInfo} from "node:net";
import {WebSocketServer} from "ws";
import type {WebSocket} from "ws";

/** One Web API call the bot made. Nested JSON arguments (`files`, `blocks`) are decoded. */
export interface RecordedSlackCall {
    readonly method: string;
    readonly args: Record<string, unknown>;
    readonly token: string | undefined;
    readonly at: number;
}

/** A message as the fake workspace holds it. */
export interface FakeSlackMessage {
    readonly channel: string;
    readonly ts: string;
    readonly threadTs: string | undefined;
    text: string;
    deleted: boolean;
}

/** A file uploaded through `files.uploadV2`, with the bytes it carried. */
export interface FakeSlackUpload {
    readonly fileId: string;
    readonly filename: string;
    bytes: Uint8Array | null;
    channel?: string;
    threadTs?: string;
}

/** A workspace member as `users.info` reports it. */
export interface FakeSlackUser {
    readonly name?: string;
    readonly isAdmin?: boolean;
    readonly isOwner?: boolean;
    /** The member's own workspace (default T1); another one makes them a Slack Connect guest. */
    readonly team?: string;
}

/**
 * A loopback Slack: the Web API under `/api/`, `response_url`s, file upload and download
 * URLs, and a Socket Mode WebSocket, all on one 127.0.0.1 port. It enforces a message length
 * limit (Slack's `msg_too_long`) and can answer 429s, so the bot's handling of both is tested.
 */
export class FakeSlack {
    readonly calls: RecordedSlackCall[] = [];
    readonly responses: {id: string; body: Record<string, unknown>; at: number}[] = [];
    readonly messages: FakeSlackMessage[] = [];
    readonly uploads: FakeSlackUpload[] = [];
    readonly users = new Map<string, FakeSlackUser>();
    /** Downloads of hosted files that were served. */
    downloads = 0;
    /** Longest text `chat.postMessage`/`chat.update` accept. */
    messageLimit = 4000;
    readonly #rateLimits = new Map<string, {count: number; retryAfterSec: number}>();
    readonly #holds: {matches: (call: RecordedSlackCall) => boolean; apply: boolean; held: RecordedSlackCall[]}[] = [];
    readonly #hostedFiles = new Map<string, Uint8Array>();
    readonly #sockets = new Set<WebSocket>();
    readonly #acks = new Map<string, (payload: unknown) => void>();
    #nextTs = 1;
    #nextEnvelope = 1;

    private constructor(
        private readonly server: Server,
        private readonly wss: WebSocketServer,
        readonly origin: string,
    ) {}

    /** Starts a fake on a free loopback port. */
    static async start(): Promise<FakeSlack> {
        const server = createServer();
        const wss = new WebSocketServer({noServer: true});
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const fake = new FakeSlack(server, wss, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
        server.on("request", (request, response) => {
            fake.#handle(request, response).catch((error: unknown) => {
                response.statusCode = 500;
                response.end(String(error));
            });
        });
        server.on("upgrade", (request, socket, head) => {
            wss.handleUpgrade(request, socket, head, (ws) => fake.#onSocket(ws));
        });
        return fake;
    }

    /** The Web API base URL (ends in `/`). */
    get apiUrl(): string {
        return `${this.origin}/api/`;
    }

    /** A `response_url` that records what is posted to it. */
    responseUrl(id: string): string {
        return `${this.origin}/response/${id}`;
    }

    /** Serves `bytes` to requests carrying a bot token; returns the file's `url_private_download`. */
    hostFile(name: string, bytes: Uint8Array): string {
        const path = `/files/${this.#hostedFiles.size + 1}/${encodeURIComponent(name)}`;
        this.#hostedFiles.set(path, bytes);
        return `${this.origin}${path}`;
    }

    /** The next `count` calls of `method` get a 429 with `Retry-After: retryAfterSec`. */
    injectRateLimit(method: string, count = 1, retryAfterSec = 1): void {
        this.#rateLimits.set(method, {count, retryAfterSec});
    }

    /**
     * Web API calls matching `matches` are never answered (the caller waits until it dies): with
     * `apply`, after Slack has done what they ask (a reply shown, its caller not told so), else
     * before. Returns the calls held, as they arrive.
     */
    hold(matches: (call: RecordedSlackCall) => boolean, apply: boolean): readonly RecordedSlackCall[] {
        const held: RecordedSlackCall[] = [];
        this.#holds.push({matches, apply, held});
        return held;
    }

    /** The calls of one method, in order. */
    callsOf(method: string): RecordedSlackCall[] {
        return this.calls.filter((call) => call.method === method);
    }

    /** Visible messages of a thread (or of a channel's top level when `threadTs` is undefined), in order. */
    thread(channel: string, threadTs: string | undefined): FakeSlackMessage[] {
        return this.messages.filter((message) => !message.deleted && message.channel === channel && message.threadTs === threadTs);
    }

    /** Polls `predicate` until it returns something other than undefined/false. */
    async waitFor<T>(predicate: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const value = predicate();
            if (value !== undefined && value !== false) return value;
            if (Date.now() > deadline) throw new Error(`FakeSlack.waitFor: timed out after ${timeoutMs} ms`);
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
    }

    /**
     * Socket Mode: sends an envelope to the connected client and resolves to the payload of
     * its ack (what the listener passed to `ack()`).
     */
    async sendEnvelope(
        type: "events_api" | "slash_commands",
        payload: Record<string, unknown>,
        retry?: {attempt: number; reason: string},
    ): Promise<unknown> {
        const socket = await this.waitFor(() => [...this.#sockets][0]);
        const envelopeId = `env-${this.#nextEnvelope++}`;
        const acked = new Promise<unknown>((resolve) => this.#acks.set(envelopeId, resolve));
        socket.send(JSON.stringify({
            envelope_id: envelopeId, type, accepts_response_payload: type === "slash_commands", payload,
            ...(retry === undefined ? {} : {retry_attempt: retry.attempt, retry_reason: retry.reason}),
        }));
        return acked;
    }

    /** Closes sockets (with a close handshake, so clients see a clean close) and the server. */
    async close(): Promise<void> {
        await Promise.all([...this.#sockets].map((socket) => new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
                socket.terminate();
                resolve();
            }, 500);
            socket.once("close", () => {
                clearTimeout(timer);
                resolve();
            });
            socket.close(1000);
        })));
        this.wss.close();
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    #onSocket(ws: WebSocket): void {
        this.#sockets.add(ws);
        ws.on("close", () => this.#sockets.delete(ws));
        ws.on("message", (data) => {
            const message = JSON.parse(String(data)) as {envelope_id?: string; payload?: unknown};
            if (message.envelope_id === undefined) return;
            this.#acks.get(message.envelope_id)?.(message.payload ?? null);
            this.#acks.delete(message.envelope_id);
        });
        ws.send(JSON.stringify({type: "hello", num_connections: 1, debug_info: {host: "fake"}, connection_info: {app_id: "AFAKE"}}));
    }

    async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const url = new URL(request.url ?? "/", this.origin);
        const body = await readBody(request);
        if (url.pathname.startsWith("/api/")) return this.#api(url.pathname.slice(5), request, body, response);
        if (url.pathname.startsWith("/response/")) {
            this.responses.push({id: url.pathname.slice(10), body: JSON.parse(body.toString("utf8")) as Record<string, unknown>, at: Date.now()});
            return sendJson(response, 200, {ok: true});
        }
        if (url.pathname.startsWith("/upload/")) {
            const upload = this.uploads.find((candidate) => candidate.fileId === url.pathname.slice(8));
            const form = await new Response(body, {headers: {"content-type": request.headers["content-type"] ?? ""}}).formData();
            const part = [...form.values()].find((value) => typeof value !== "string") as Blob | undefined;
            if (upload === undefined || part === undefined) return sendJson(response, 400, {ok: false});
            upload.bytes = new Uint8Array(await part.arrayBuffer());
            response.end("OK");
            return;
        }
        const hosted = this.#hostedFiles.get(url.pathname);
        if (hosted !== undefined && request.headers.authorization?.startsWith("Bearer xoxb-")) {
            this.downloads += 1;
            response.end(hosted);
            return;
        }
        sendJson(response, 404, {ok: false, error: "not_found"});
    }

    #api(method: string, request: IncomingMessage, raw: Buffer, response: ServerResponse): void {
        const args = decodeArgs(request.headers["content-type"], raw);
        const token = request.headers.authorization?.replace(/^Bearer /, "");
        const call = {method, args, token, at: Date.now()};
        this.calls.push(call);
        const hold = this.#holds.find((candidate) => candidate.matches(call));
        if (hold !== undefined) {
            if (hold.apply) this.#answer(method, args);
            hold.held.push(call);
            return;
        }
        const limit = this.#rateLimits.get(method);
        if (limit !== undefined && limit.count > 0) {
            limit.count -= 1;
            response.setHeader("retry-after", String(limit.retryAfterSec));
            return sendJson(response, 429, {ok: false, error: "ratelimited"});
        }
        sendJson(response, 200, this.#answer(method, args));
    }

    #answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
        const channel = String(args.channel ?? args.channel_id ?? "");
        switch (method) {
            case "auth.test":
                return {ok: true, user_id: "UBOT", bot_id: "BBOT", team_id: "T1", user: "rwkv"};
            case "apps.connections.open":
                return {ok: true, url: `${this.origin.replace("http", "ws")}/link/?ticket=t1`};
            case "chat.postMessage": {
                const text = String(args.text ?? "");
                if (text === "") return {ok: false, error: "no_text"};
                if (text.length > this.messageLimit) return {ok: false, error: "msg_too_long"};
                const ts = `1700000000.${String(this.#nextTs++).padStart(6, "0")}`;
                const threadTs = args.thread_ts === undefined ? undefined : String(args.thread_ts);
                this.messages.push({channel, ts, threadTs, text, deleted: false});
                return {ok: true, channel, ts, message: {text, ts, user: "UBOT", bot_id: "BBOT"}};
            }
            case "chat.update":
            case "chat.delete": {
                const message = this.messages.find((candidate) => candidate.channel === channel && candidate.ts === args.ts && !candidate.deleted);
                if (message === undefined) return {ok: false, error: "message_not_found"};
                if (method === "chat.delete") {
                    message.deleted = true;
                    return {ok: true, channel, ts: message.ts};
                }
                const raw = String(args.text ?? "");
                if (raw.length > this.messageLimit) return {ok: false, error: "msg_too_long"};
                // Unlike chat.postMessage, chat.update parses text as a client would unless told
                // `parse: none`: a typed "@channel" becomes a live mention.
                const text = (args.parse ?? "client") === "none" ? raw : raw.replace(/@(channel|here|everyone)\b/g, "<!$1>");
                message.text = text;
                return {ok: true, channel, ts: message.ts, text};
            }
            case "users.info": {
                const id = String(args.user);
                const user = this.users.get(id);
                if (user === undefined) return {ok: false, error: "user_not_found"};
                return {
                    ok: true,
                    user: {id, team_id: user.team ?? "T1", name: user.name ?? id, real_name: user.name ?? id, is_admin: user.isAdmin ?? false, is_owner: user.isOwner ?? false, profile: {display_name: user.name ?? ""}},
                };
            }
            case "files.getUploadURLExternal": {
                const fileId = `F${this.uploads.length + 1}`;
                this.uploads.push({fileId, filename: String(args.filename), bytes: null});
                return {ok: true, file_id: fileId, upload_url: `${this.origin}/upload/${fileId}`};
            }
            case "files.completeUploadExternal": {
                for (const {id} of args.files as {id: string}[]) {
                    const upload = this.uploads.find((candidate) => candidate.fileId === id);
                    if (upload === undefined) return {ok: false, error: "file_not_found"};
                    upload.channel = channel;
                    if (args.thread_ts !== undefined) upload.threadTs = String(args.thread_ts);
                }
                return {ok: true, files: (args.files as {id: string}[]).map(({id}) => ({id}))};
            }
            default:
                return {ok: false, error: "unknown_method"};
        }
    }
}

/** Options of {@link signedPost}. */
export interface SignedPostOptions {
    readonly secret: string;
    readonly contentType: "application/json" | "application/x-www-form-urlencoded";
    /** How old the timestamp is, in seconds (Slack refuses > 5 minutes). */
    readonly ageSec?: number;
    /** Signs with another secret. */
    readonly badSignature?: boolean;
    /** Marks a redelivery (`x-slack-retry-num`). */
    readonly retryNum?: number;
}

/** POSTs `body` to the bot's `/slack/events` the way Slack does, signed `v0` HMAC-SHA256. */
export async function signedPost(url: string, body: string, options: SignedPostOptions): Promise<Response> {
    const timestamp = String(Math.floor(Date.now() / 1000) - (options.ageSec ?? 0));
    const secret = options.badSignature === true ? `${options.secret}-wrong` : options.secret;
    const signature = `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
    return fetch(url, {
        method: "POST",
        body,
        headers: {
            "content-type": options.contentType,
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature,
            ...(options.retryNum === undefined ? {} : {"x-slack-retry-num": String(options.retryNum), "x-slack-retry-reason": "http_timeout"}),
        },
    });
}

/** Builds an `event_callback` envelope carrying an `app_mention`. */
export function appMentionEnvelope(fields: {
    eventId: string; team?: string; channel?: string; user?: string; text: string; ts: string; threadTs?: string;
    botUserId?: string; files?: {name: string; url: string; size: number}[];
}): Record<string, unknown> {
    const team = fields.team ?? "T1";
    return {
        token: "verification-token", team_id: team, api_app_id: "AFAKE", type: "event_callback",
        event_id: fields.eventId, event_time: Math.floor(Date.now() / 1000),
        authorizations: [{team_id: team, user_id: fields.botUserId ?? "UBOT", is_bot: true, is_enterprise_install: false}],
        event: {
            type: "app_mention", user: fields.user ?? "UALICE", text: fields.text, ts: fields.ts, channel: fields.channel ?? "C1",
            event_ts: fields.ts, ...(fields.threadTs === undefined ? {} : {thread_ts: fields.threadTs}),
            ...(fields.files === undefined ? {} : {
                files: fields.files.map((file, index) => ({id: `FIN${index}`, name: file.name, size: file.size, url_private: file.url, url_private_download: file.url})),
            }),
        },
    };
}

let nextTrigger = 1;

/** Builds the form fields of a slash command. */
export function slashCommandFields(fields: {
    text: string; responseUrl: string; team?: string; channel?: string; user?: string; command?: string; triggerId?: string;
}): Record<string, string> {
    return {
        token: "verification-token", team_id: fields.team ?? "T1", team_domain: "fake", channel_id: fields.channel ?? "C1",
        channel_name: "general", user_id: fields.user ?? "UALICE", user_name: "alice", command: fields.command ?? "/rwkv",
        text: fields.text, api_app_id: "AFAKE", is_enterprise_install: "false", response_url: fields.responseUrl,
        trigger_id: fields.triggerId ?? `trig-${nextTrigger++}`,
    };
}

function decodeArgs(contentType: string | undefined, raw: Buffer): Record<string, unknown> {
    const text = raw.toString("utf8");
    if (contentType?.includes("application/json")) return JSON.parse(text) as Record<string, unknown>;
    const args: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(text)) {
        args[key] = /^[[{]/.test(value) ? tryJson(value) : value;
    }
    return args;
}

function tryJson(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
    response.statusCode = status;
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(body));
}
