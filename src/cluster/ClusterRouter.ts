import {setTimeout as sleep} from "node:timers/promises";
import {Redis} from "ioredis";
import type {TurnHandler} from "../core/Adapter.ts";
import type {Logger} from "../core/Logger.ts";
import type {ReplySink} from "../core/ReplySink.ts";
import type {Platform, ReplyAddress, Turn} from "../core/Turn.ts";
import {BotError, UserFacingError} from "../errors/BotError.ts";
import {canTravel, decodeTurn, encodeTurn} from "./forwardedTurn.ts";
import type {AttachmentResolver} from "./forwardedTurn.ts";

/** What a process publishes about its load, for placement. */
export interface LoadRecord {
    /** Engine slots, and conversations resident in them. */
    readonly slots: number;
    readonly resident: number;
    /** Chat turns admitted and waiting for the engine. */
    readonly queueDepth: number;
}

/** Options of {@link ClusterRouter}. */
export interface ClusterRouterOptions {
    readonly redisUrl: string;
    /** The deployment's name: the prefix of its Redis keys, so that several share one server. */
    readonly name: string;
    /** This process's identity, the same as in its leases. */
    readonly self: string;
    /** Presence lasts this long without a renewal (ms): a process dead longer is taken over. */
    readonly leaseMs: number;
    /** Answers a turn in this process (the router of `createRouter`). */
    readonly local: TurnHandler;
    /** The lease holder the database records for a conversation (maybe dead). */
    readonly holderOf: (conversation: string) => Promise<string | null>;
    /** A sink answering through the platform's Web API; null when no adapter of `platform` runs here. */
    readonly sinkFor: (platform: Platform, address: ReplyAddress) => ReplySink | null;
    /** Makes a forwarded turn's attachment readable here (through the platform's adapter); null when no adapter of `platform` runs here. */
    readonly attachmentFor?: AttachmentResolver;
    readonly load: () => LoadRecord;
    readonly log: Logger;
}

type Presence = {readonly state: "serving" | "leaving"; readonly load: LoadRecord};

// Every process reads the streams with one group; its consumer name is the process's identity.
const GROUP = "owners";
// Forwards after which a turn is refused: ownership moves rarely, a loop must not.
const MAX_HOPS = 3;
// How often a turn for a conversation whose holder is handing it off asks again (ms).
const HAND_OFF_POLL_MS = 100;
// A turn answered but not yet acknowledged when its owner died is not answered again by the claimant (ms).
const DONE_TTL_MS = 3_600_000;
// What one read takes at most.
const BATCH = 32;

const cancelledElsewhere = () => new BotError("turn/aborted", "cancelled by the process that received it (its message was deleted)");

const unreachable = () => new UserFacingError(
    "cluster/unreachable",
    "Another instance of the bot serves this conversation and cannot be reached right now (its message bus is down); try again shortly.",
);

/**
 * Routes turns between the bot processes of one deployment (one Postgres, one Redis): each
 * process reads its own Redis stream (`turns:<self>`, a consumer group) and answers what is
 * there; a turn is appended to the stream of its conversation's live lease holder, or — with
 * no live holder — of the process that received it unless that one is over its load limit and
 * another is not. An entry is acknowledged once its turn is answered (a chat turn is logged
 * before its reply completes). Each process keeps a presence key with its load (TTL `leaseMs`);
 * the entries of a process whose presence expired are claimed by the live ones (read if never
 * delivered, XCLAIMed if pending on a dead consumer) and answered once: the turn log finds a turn
 * answered before (`Conversation.reply`), and a reply begun by the dead process is finished in its
 * own message (`reply:<turn>`, `ReplySink.onPosted`). A process that passed a turn on follows it
 * until its owner publishes it answered, and sends an abort of it on (`cancel:<turn>`, `cancels`).
 * @see README.md § Running several processes
 */
export class ClusterRouter {
    readonly #options: ClusterRouterOptions;
    // Commands; a connection of its own for the blocking reads, and one for the notices (pub/sub).
    readonly #redis: Redis;
    readonly #reader: Redis;
    readonly #subscriber: Redis;
    // Entries from other processes being answered here, by turn id: a cancel from the receiving process aborts them.
    readonly #answering = new Map<string, AbortController>();
    // Turns this process passed on and their adapters still follow, by id: released once their owner answered them.
    readonly #awaitingAnswer = new Map<string, () => void>();
    // Turns this process received and journaled in its own stream, answered with their own sink.
    readonly #own = new Map<string, {turn: Turn; sink: ReplySink; answered: () => void}>();
    readonly #hops = new WeakMap<Turn, number>();
    // Turns this process appended to another's stream: answered there, so not marked answered here.
    readonly #passedOn = new WeakSet<Turn>();
    // Entries being answered, chained per conversation so that its turns keep their order.
    readonly #chains = new Map<string, Promise<void>>();
    readonly #running = new Set<Promise<void>>();
    // Turns being routed (some wait for a holder to hand its conversation off).
    readonly #routing = new Set<Promise<void>>();
    // Keys are prefixed by hand: ioredis's `keyPrefix` misplaces itself in XGROUP.
    readonly #key: (name: string) => string;
    // Dead processes whose streams were found empty on the last beat.
    readonly #drained = new Set<string>();
    #state: "serving" | "leaving" | "closed" = "serving";
    #consumer: Promise<void> | null = null;
    #busDown = false;
    #heartbeat: NodeJS.Timeout | null = null;

    constructor(options: ClusterRouterOptions) {
        this.#options = options;
        this.#key = (name) => `${options.name}:${name}`;
        // No offline queue: while Redis is down a command fails at once, and the turn takes the path that needs no Redis.
        const connection = {enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true};
        this.#redis = new Redis(options.redisUrl, connection);
        this.#reader = new Redis(options.redisUrl, connection);
        this.#subscriber = new Redis(options.redisUrl, connection);
        // Failures are answered where they happen; the log says when the bus is back.
        for (const client of [this.#redis, this.#reader, this.#subscriber]) client.on("error", () => {});
        this.#subscriber.on("message", (channel: string, id: string) => this.#notice(channel, id));
        this.#redis.on("close", () => {
            if (this.#state !== "closed") this.#busDown = true;
        });
        this.#redis.on("ready", () => {
            if (!this.#busDown) return;
            this.#busDown = false;
            options.log.info("the message bus (Redis) is reachable again");
        });
    }

    /** What adapters deliver turns to. */
    readonly handler: TurnHandler = async (turn, sink, accepted) => {
        const routing = this.#route(turn, sink, false, accepted);
        this.#routing.add(routing);
        try {
            await routing;
        } finally {
            this.#routing.delete(routing);
            accepted?.();
        }
        // Answered by another process: the adapter keeps following the turn until then, so that deleting the message still cancels it.
        if (this.#passedOn.has(turn) && this.#state !== "closed") await this.#answeredElsewhere(turn);
    };

    /**
     * Where the scheduler sends a turn whose conversation another process took meanwhile:
     * resolves false when the turn cannot travel (no address, a file, too many hops).
     */
    readonly elsewhere = async (turn: Turn, sink: ReplySink): Promise<boolean> => {
        const hops = (this.#hops.get(turn) ?? 0) + 1;
        if (!canTravel(turn) || hops > MAX_HOPS) return false;
        this.#hops.set(turn, hops);
        await this.#route(turn, sink, true);
        return true;
    };

    /** Joins: the stream and its group, the presence key, the reader and the heartbeat. */
    async start(): Promise<void> {
        await this.#redis.connect();
        await this.#reader.connect();
        await this.#subscriber.connect();
        await this.#subscriber.subscribe(this.#key("cancels"), this.#key("answered"));
        await this.#ensureGroup(this.#options.self);
        await this.#publish();
        this.#heartbeat = setInterval(() => void this.#tick(), Math.max(50, Math.floor(this.#options.leaseMs / 3)));
        this.#heartbeat.unref();
        this.#consumer = this.#consume();
    }

    /**
     * The first step of a graceful stop: no new turns are routed here and this process reads no
     * more; turns for the conversations it still holds wait for it to release them (its
     * shutdown checkpoints and releases every one), then go to a live process.
     */
    async leave(): Promise<void> {
        if (this.#state !== "serving") return;
        this.#state = "leaving";
        await this.#publish().catch(() => undefined);
        this.#reader.disconnect();
        await this.#consumer;
    }

    /** The last step: once the turns given to the core are answered, the presence goes, so the live processes take what is left in the stream. */
    async close(): Promise<void> {
        await this.leave();
        // Turns passed on are their owners' now: the adapters stop following them, and their shutdown cancels none.
        for (const release of this.#awaitingAnswer.values()) release();
        while (this.#running.size > 0) await Promise.all(this.#running);
        // Turns journaled but never read are answered by whoever claims them.
        for (const own of this.#own.values()) own.answered();
        this.#own.clear();
        // Turns waiting for this process's conversations go to their new holders now that it released them.
        while (this.#routing.size > 0) await Promise.all(this.#routing);
        this.#state = "closed";
        if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
        await this.#redis.del(this.#key(`live:${this.#options.self}`)).catch(() => undefined);
        this.#redis.disconnect();
        this.#subscriber.disconnect();
    }

    // `answering`: the turn is an entry this process is answering already (the scheduler or the router handed it back).
    // `accepted`: called once the turn is in a stream (or can only be answered here).
    async #route(turn: Turn, sink: ReplySink, answering = false, accepted: () => void = () => {}): Promise<void> {
        const {self} = this.#options;
        const local = (turn: Turn, sink: ReplySink) => {
            accepted();
            return this.#options.local(turn, sink);
        };
        if (!canTravel(turn) || this.#state === "closed") return local(turn, sink);
        const hops = this.#hops.get(turn) ?? 0;
        const deadline = Date.now() + this.#options.leaseMs;
        for (;;) {
            let target: string | "wait";
            try {
                target = await this.#target(turn.conversation);
            } catch (error) {
                // Redis is down: a first try is answered here (the database decides whether this process may); a forward cannot be.
                this.#options.log.warn(`routing ${turn.id} in ${turn.conversation} without the message bus`, error);
                if (hops === 0) return local(turn, sink);
                accepted();
                return sink.fail(unreachable());
            }
            if (target === "wait") {
                if (Date.now() < deadline) {
                    await sleep(HAND_OFF_POLL_MS);
                    continue;
                }
                target = self;
            }
            if (target !== self) {
                try {
                    await this.#redis.xadd(this.#key(`turns:${target}`), "*", "turn", encodeTurn(turn, hops));
                    this.#passedOn.add(turn);
                    accepted();
                } catch (error) {
                    this.#options.log.warn(`forwarding ${turn.id} to ${target} failed`, error);
                    accepted();
                    await sink.fail(unreachable());
                }
                return;
            }
            if (!answering) return this.#journal(turn, sink, hops, accepted);
            // Journaling it again would wait behind itself. Its conversation was just taken by a process that has
            // not recorded it yet (the lease is claimed before the row names its holder): a moment later, here again.
            await sleep(HAND_OFF_POLL_MS);
            return local(turn, sink);
        }
    }

    // A turn this process answers goes through its own stream too: if the process dies mid-reply, a live one claims and answers it.
    async #journal(turn: Turn & {readonly replyAddress: ReplyAddress}, sink: ReplySink, hops: number, accepted: () => void): Promise<void> {
        const answered = new Promise<void>((resolve) => this.#own.set(turn.id, {turn, sink, answered: resolve}));
        try {
            await this.#redis.xadd(this.#key(`turns:${this.#options.self}`), "*", "turn", encodeTurn(turn, hops));
        } catch (error) {
            this.#own.delete(turn.id);
            this.#options.log.warn(`journaling ${turn.id} failed; answering it without the message bus`, error);
            accepted();
            return this.#options.local(turn, sink);
        }
        accepted();
        await answered;
    }

    // Whose stream a turn for `conversation` goes to; "wait" while its holder hands it off.
    async #target(conversation: string): Promise<string | "wait"> {
        const {self} = this.#options;
        // The database down: the turn stays here, and the scheduler says so when it needs the database.
        const holder = await this.#options.holderOf(conversation).catch(() => self);
        if (holder === self) return this.#state === "serving" ? self : "wait";
        if (holder !== null) {
            const presence = parsePresence(await this.#redis.get(this.#key(`live:${holder}`)));
            if (presence?.state === "serving") return holder;
            if (presence?.state === "leaving") return "wait";
        }
        return this.#place();
    }

    // A conversation with no live holder: here, unless this process is over its limit (or leaving) and another is not.
    async #place(): Promise<string> {
        const {self} = this.#options;
        if (this.#state === "serving" && !overLimit(this.#options.load())) return self;
        const others = (await this.#redis.smembers(this.#key("members"))).filter((member) => member !== self);
        const presences = others.length === 0 ? [] : await this.#redis.mget(others.map((member) => this.#key(`live:${member}`)));
        let best: {member: string; load: LoadRecord} | null = null;
        for (const [i, member] of others.entries()) {
            const presence = parsePresence(presences[i] ?? null);
            if (presence?.state !== "serving" || overLimit(presence.load)) continue;
            if (best === null || lighter(presence.load, best.load)) best = {member, load: presence.load};
        }
        return best?.member ?? self;
    }

    async #consume(): Promise<void> {
        const stream = this.#key(`turns:${this.#options.self}`);
        let failing = false;
        while (this.#state === "serving") {
            try {
                const read = await this.#reader.xreadgroup("GROUP", GROUP, this.#options.self, "COUNT", BATCH, "BLOCK", 1000, "STREAMS", stream, ">");
                if (failing) this.#options.log.info("reading forwarded turns again");
                failing = false;
                for (const [id, fields] of entriesOf(read)) this.#accept(stream, id, fields);
            } catch (error) {
                if (this.#state !== "serving") return;
                if (!failing) this.#options.log.warn("reading forwarded turns failed; retrying", error);
                failing = true;
                // A Redis that restarted empty has lost the group.
                if (String(error).includes("NOGROUP")) await this.#ensureGroup(this.#options.self).catch(() => undefined);
                else await sleep(500);
            }
        }
    }

    #accept(stream: string, id: string, fields: string[]): void {
        const payload = fields[fields.indexOf("turn") + 1];
        const controller = new AbortController();
        let decoded: {turn: Turn; hops: number};
        try {
            decoded = decodeTurn(payload ?? "", controller.signal, this.#options.attachmentFor);
        } catch (error) {
            this.#options.log.warn(`dropping entry ${id} of ${stream}`, error);
            void this.#settle(stream, id).catch(() => undefined);
            return;
        }
        const {turn: received, hops} = decoded;
        const key = received.conversation;
        // From the moment it is read: a turn waiting behind others of its conversation can be cancelled too.
        if (!this.#own.has(received.id)) this.#answering.set(received.id, controller);
        const run = (this.#chains.get(key) ?? Promise.resolve()).then(() => this.#answer(stream, id, received, hops, controller));
        const chained = run.catch((error: unknown) => this.#options.log.warn(`answering ${received.id} from ${stream} failed`, error));
        this.#chains.set(key, chained);
        this.#running.add(chained);
        void chained.finally(() => {
            this.#running.delete(chained);
            if (this.#chains.get(key) === chained) this.#chains.delete(key);
            if (this.#answering.get(received.id) === controller) this.#answering.delete(received.id);
        });
    }

    async #answer(stream: string, id: string, received: Turn, hops: number, controller: AbortController): Promise<void> {
        const own = this.#own.get(received.id);
        this.#own.delete(received.id);
        const done = this.#key(`done:${received.id}`);
        try {
            if (own === undefined && await this.#redis.exists(done) === 1) {
                await this.#settle(stream, id);
                return;
            }
            // Cancelled before it was read here (or while its first owner held it): answered as cancelled, never generated.
            if (own === undefined && await this.#redis.exists(this.#key(`cancel:${received.id}`)) === 1) controller.abort(cancelledElsewhere());
            const turn = own?.turn ?? received;
            // A reply a process that died had begun is finished in place (its first message edited), not posted again.
            const begun = own === undefined ? parseAddress(await this.#redis.get(this.#key(`reply:${received.id}`))) : null;
            const sink = own?.sink ?? this.#options.sinkFor(received.platform, {...received.replyAddress, ...begun});
            if (sink === null) {
                this.#options.log.warn(`no ${received.platform} adapter here to answer ${received.id}; dropping it`);
            } else {
                this.#hops.set(turn, hops);
                await this.#options.local(turn, this.#resumable(received.id, sink));
            }
            // The receiving process, if it still follows the turn, learns that it is answered.
            if (!this.#passedOn.has(turn)) {
                await this.#redis.multi().set(done, "1", "PX", DONE_TTL_MS).del(this.#key(`reply:${received.id}`)).publish(this.#key("answered"), received.id).exec();
            }
            await this.#settle(stream, id);
        } finally {
            own?.answered();
        }
    }

    // Records where the reply's first message is (for a claimant, should this process die) before the final text can show.
    #resumable(id: string, sink: ReplySink): ReplySink {
        if (sink.onPosted === undefined) return sink;
        let recorded: Promise<unknown> = Promise.resolve();
        sink.onPosted((at) => {
            recorded = this.#redis.set(this.#key(`reply:${id}`), JSON.stringify(at), "PX", DONE_TTL_MS)
                .catch((error: unknown) => this.#options.log.warn(`recording where the reply to ${id} is failed`, error));
        });
        return {
            typing: () => sink.typing(),
            update: (text) => sink.update(text),
            complete: async (text, file) => {
                await recorded;
                await sink.complete(text, file);
            },
            fail: async (error) => {
                await recorded;
                await sink.fail(error);
            },
        };
    }

    // Follows a turn passed on to its owner until the owner says it answered it; an abort meanwhile (the message deleted) is sent on.
    async #answeredElsewhere(turn: Turn): Promise<void> {
        const cancel = () => {
            // Kept as a key too: the owner may read the entry only later, or die and leave it to a claimant.
            void this.#redis.multi().set(this.#key(`cancel:${turn.id}`), "1", "PX", DONE_TTL_MS).publish(this.#key("cancels"), turn.id).exec()
                .catch((error: unknown) => this.#options.log.warn(`sending the cancel of ${turn.id} failed`, error));
        };
        const answered = new Promise<void>((resolve) => this.#awaitingAnswer.set(turn.id, resolve));
        turn.signal.addEventListener("abort", cancel, {once: true});
        try {
            if (turn.signal.aborted) cancel();
            // Answered before this process listened for it: the marker says so (the bus down: the turn is not followed).
            if (await this.#redis.exists(this.#key(`done:${turn.id}`)).catch(() => 1) === 1) return;
            await answered;
        } finally {
            turn.signal.removeEventListener("abort", cancel);
            this.#awaitingAnswer.delete(turn.id);
        }
    }

    #notice(channel: string, id: string): void {
        if (channel === this.#key("cancels")) this.#answering.get(id)?.abort(cancelledElsewhere());
        else if (channel === this.#key("answered")) this.#awaitingAnswer.get(id)?.();
    }

    // Acknowledged entries are deleted too: the streams hold only turns still to answer.
    async #settle(stream: string, id: string): Promise<void> {
        await this.#redis.multi().xack(stream, GROUP, id).xdel(stream, id).exec();
    }

    // Renews the presence, and takes over the streams of processes that died.
    async #tick(): Promise<void> {
        try {
            await this.#publish();
            const {self} = this.#options;
            for (const member of await this.#redis.smembers(this.#key("members"))) {
                if (member === self || await this.#redis.exists(this.#key(`live:${member}`)) === 1) continue;
                await this.#adopt(member);
            }
        } catch (error) {
            this.#options.log.warn("cluster heartbeat failed", error);
        }
    }

    async #adopt(member: string): Promise<void> {
        if (this.#state !== "serving") return;
        const {self} = this.#options;
        const stream = this.#key(`turns:${member}`);
        // Pending on a dead consumer (the dead process, or one that had claimed from it): XCLAIM with the idle time seen, so one claimant wins.
        const pending = await this.#redis.xpending(stream, GROUP, "-", "+", BATCH).catch(() => []) as [string, string, number, number][];
        let claimed = 0;
        for (const [id, consumer, idle] of pending) {
            if (consumer === self || await this.#redis.exists(this.#key(`live:${consumer}`)) === 1) continue;
            const entries = await this.#redis.xclaim(stream, GROUP, self, Math.max(1, idle), id) as [string, string[]][];
            for (const [entryId, fields] of entries) {
                claimed++;
                this.#accept(stream, entryId, fields);
            }
        }
        const read = await this.#redis.xreadgroup("GROUP", GROUP, self, "COUNT", BATCH, "STREAMS", stream, ">").catch(() => null);
        const fresh = entriesOf(read);
        for (const [id, fields] of fresh) this.#accept(stream, id, fields);
        if (pending.length > 0 || fresh.length > 0 || claimed > 0) {
            this.#drained.delete(member);
        } else if (this.#drained.has(member)) {
            // Found empty on two beats in a row: forget the dead process (a sender checks presence before it appends, so none is on its way).
            this.#drained.delete(member);
            await this.#redis.srem(this.#key("members"), member);
            await this.#redis.del(stream);
        } else {
            this.#drained.add(member);
        }
    }

    // The presence first, then the membership: a member without a presence is taken for dead. Both renewed every beat.
    async #publish(): Promise<void> {
        const presence: Presence = {state: this.#state === "serving" ? "serving" : "leaving", load: this.#options.load()};
        await this.#redis.set(this.#key(`live:${this.#options.self}`), JSON.stringify(presence), "PX", this.#options.leaseMs);
        await this.#redis.sadd(this.#key("members"), this.#options.self);
    }

    async #ensureGroup(member: string): Promise<void> {
        try {
            await this.#redis.xgroup("CREATE", this.#key(`turns:${member}`), GROUP, "0", "MKSTREAM");
        } catch (error) {
            if (!String(error).includes("BUSYGROUP")) throw error;
        }
    }
}

function entriesOf(read: unknown): [string, string[]][] {
    if (!Array.isArray(read)) return [];
    return (read as [string, [string, string[]][]][]).flatMap(([, entries]) => entries);
}

function parseAddress(value: string | null): ReplyAddress | null {
    if (value === null) return null;
    try {
        const parsed = JSON.parse(value) as unknown;
        return typeof parsed === "object" && parsed !== null && Object.values(parsed).every((v) => typeof v === "string") ? parsed as ReplyAddress : null;
    } catch {
        return null;
    }
}

function parsePresence(value: string | null): Presence | null {
    if (value === null) return null;
    try {
        return JSON.parse(value) as Presence;
    } catch {
        return null;
    }
}

// Every slot holds a conversation and turns are waiting for one.
function overLimit(load: LoadRecord): boolean {
    return load.resident >= load.slots && load.queueDepth > 0;
}

function lighter(a: LoadRecord, b: LoadRecord): boolean {
    return a.queueDepth !== b.queueDepth ? a.queueDepth < b.queueDepth : a.resident / a.slots < b.resident / b.slots;
}
