import {randomUUID} from "node:crypto";
import {setTimeout as sleep} from "node:timers/promises";
import type {Prisma} from "../../generated/prisma/client.ts";
import {StoreError} from "../errors/BotError.ts";
import {noMetrics} from "../core/Metrics.ts";
import type {Metrics} from "../core/Metrics.ts";
import {asStoreError} from "./asStoreError.ts";
import type {StoreClient} from "./db/createStoreClient.ts";
import type {LeaseClaims} from "./db/LeaseClaims.ts";
import type {Database} from "./db/openDatabase.ts";
import {decodeExportFile, encodeExportFile} from "./exportFile.ts";
import {isConnectionError} from "./isConnectionError.ts";
import {decodeSnapshot, encodeSnapshot, SNAPSHOT_CODEC_VERSION} from "./snapshotCodec.ts";
import type {SnapshotDtype} from "./snapshotCodec.ts";
import {stateElementCount} from "./StateDescriptor.ts";
import type {StateDescriptor} from "./StateDescriptor.ts";
import type {
    CheckpointInput, CheckpointRefusal, ConversationRecord, ConversationSettings, LoggedAnswer, LoggedTurn, RestorePlan, SettingsUpdate, StateStore, TurnInput, TurnRole,
} from "./StateStore.ts";

/** Options of {@link PrismaStateStore}. */
export interface PrismaStateStoreOptions {
    /** This process's identity in leases (e.g. `host:pid:random`). */
    readonly owner: string;
    /** Checkpoints kept per conversation. Defaults to 3. */
    readonly keepCheckpoints?: number;
    /** Checkpoint dtype. Defaults to `fp32` (exact). */
    readonly dtype?: SnapshotDtype;
    /** Tries of a turn append while the database is unreachable. Defaults to 5. */
    readonly appendAttempts?: number;
    /** First wait between append tries (ms), doubled each time. Defaults to 200. */
    readonly retryDelayMs?: number;
    /** Counts the database's failures. Defaults to {@link noMetrics}. */
    readonly metrics?: Metrics;
}

type Tx = Prisma.TransactionClient;
interface LockedConversation {id: number, epoch: number, logLength: number, tokenCount: number, leaseOwner: string | null}

/** The {@link StateStore} over Prisma (Postgres server or embedded PGlite). */
export class PrismaStateStore implements StateStore {
    private readonly prisma: StoreClient;
    private readonly claims: LeaseClaims;
    private readonly keepCheckpoints: number;
    private readonly dtype: SnapshotDtype;
    private readonly appendAttempts: number;
    private readonly retryDelayMs: number;
    private readonly metrics: Metrics;
    /** Keys whose lease this store took and has not given up, with their conversation ids: acquiring one again is a renewal. */
    private readonly held = new Map<string, number>();

    /** `db` is what `openDatabase` returned: its Prisma client, its fast read of checkpoint blobs, and the owner's lease claims. */
    constructor(private readonly db: Pick<Database, "prisma" | "readCheckpointState" | "openLeaseClaims">, private readonly options: PrismaStateStoreOptions) {
        this.prisma = db.prisma;
        this.claims = db.openLeaseClaims(options.owner);
        this.keepCheckpoints = options.keepCheckpoints ?? 3;
        this.dtype = options.dtype ?? "fp32";
        this.appendAttempts = options.appendAttempts ?? 5;
        this.retryDelayMs = options.retryDelayMs ?? 200;
        this.metrics = options.metrics ?? noMetrics;
    }

    async openConversation(key: string, settings: ConversationSettings): Promise<ConversationRecord> {
        return this.guard(`opening ${key}`, async () => {
            try {
                return await this.upsertConversation(key, settings);
            } catch (error) {
                // Prisma's upsert is a read then an insert: two processes opening a new
                // conversation at once collide on its key, and the loser finds the row.
                if ((error as {code?: unknown}).code !== "P2002") throw error;
                return this.upsertConversation(key, settings);
            }
        });
    }

    private async upsertConversation(key: string, settings: ConversationSettings): Promise<ConversationRecord> {
        const row = await this.prisma.conversation.upsert({
            where: {key},
            update: {},
            create: {
                key,
                platform: settings.platform,
                platformIds: settings.platformIds ?? {},
                chatFormat: settings.chatFormat,
                sampling: (settings.sampling ?? {}) as Prisma.InputJsonObject,
                persona: settings.persona ?? null,
            },
        });
        return toRecord(row);
    }

    async updateSettings(key: string, update: SettingsUpdate): Promise<ConversationRecord> {
        return this.guard(`settings of ${key}`, () => this.prisma.$transaction(async (tx) => {
            const conversation = await this.lockForWrite(tx, key, null);
            return toRecord(await tx.conversation.update({where: {id: conversation.id}, data: {
                chatFormat: update.chatFormat,
                sampling: update.sampling as Prisma.InputJsonObject | undefined,
                persona: update.persona,
            }}));
        }));
    }

    async acquireLease(key: string): Promise<void> {
        return this.guard(`lease of ${key}`, async () => {
            const owner = this.options.owner;
            const heldId = this.held.get(key);
            // Still claimed: no one else can have served it since.
            if (heldId !== undefined && this.claims.holds(heldId)) return;
            // A renewal after the claim was lost (its connection dropped) needs the lease to be
            // still ours: if another process took it and let it go, that process may have logged
            // turns our live state lacks, so the conversation must be restored, not renewed.
            const renewing = heldId !== undefined;
            const row = await this.prisma.conversation.findUnique({where: {key}, select: {id: true, leaseOwner: true}});
            if (row === null) throw new StoreError("store/not_found", `No conversation ${key}`);
            if (!(await this.claims.claim(row.id))) {
                this.held.delete(key);
                throw new StoreError("store/busy_elsewhere", `Conversation ${key} is being served by another live process (${row.leaseOwner ?? "unknown"})`);
            }
            // The claim decides; the row records the owner, which every write checks (lockForWrite).
            const taken = await this.prisma.$executeRaw`
                UPDATE conversation SET "leaseOwner" = ${owner}
                WHERE id = ${row.id} AND ("leaseOwner" = ${owner} OR NOT ${renewing}::boolean)`;
            if (taken === 1) {
                this.held.set(key, row.id);
                return;
            }
            this.held.delete(key);
            await this.claims.release(row.id);
            throw new StoreError("store/busy_elsewhere", `The lease of ${key} was lost and another process served it meanwhile; it must be restored before this process serves it again`);
        });
    }

    async leaseHolder(key: string): Promise<string | null> {
        return this.guard(`lease holder of ${key}`, async () => {
            const row = await this.prisma.conversation.findUnique({where: {key}, select: {leaseOwner: true}});
            return row?.leaseOwner ?? null;
        });
    }

    async releaseLease(key: string): Promise<void> {
        return this.guard(`lease release of ${key}`, async () => {
            const id = this.held.get(key);
            this.held.delete(key);
            try {
                await this.prisma.conversation.updateMany({where: {key, leaseOwner: this.options.owner}, data: {leaseOwner: null}});
            } finally {
                if (id !== undefined) await this.claims.release(id);
            }
        });
    }

    /** Gives up every lease and the proof of life behind them, as this process's death would. */
    async close(): Promise<void> {
        this.held.clear();
        await this.claims.close();
    }

    async appendTurn(key: string, turn: TurnInput): Promise<LoggedTurn> {
        const [logged] = await this.appendTurns(key, [turn]);
        return logged as LoggedTurn;
    }

    async appendTurns(key: string, turns: readonly TurnInput[]): Promise<LoggedTurn[]> {
        // Chosen once (or by the caller): a retry after a lost commit acknowledgement finds the rows instead of logging twice.
        const appendIds = turns.map((turn) => turn.appendId ?? randomUUID());
        let delay = this.retryDelayMs;
        for (let attempt = 1; ; attempt++) {
            try {
                return await this.prisma.$transaction(async (tx) => {
                    const done = await tx.turn.findMany({where: {appendId: {in: appendIds}}, orderBy: {seq: "asc"}});
                    if (done.length > 0) return done.map(toTurn);
                    const conversation = await this.lockForWrite(tx, key, turns[0]?.epoch ?? 0);
                    const logged: LoggedTurn[] = [];
                    let seq = conversation.logLength;
                    let tokenCount = 0;
                    for (const [i, turn] of turns.entries()) {
                        const tokens = Array.from(turn.tokens);
                        tokenCount += tokens.length;
                        logged.push(toTurn(await tx.turn.create({data: {
                            conversationId: conversation.id, epoch: turn.epoch, seq: ++seq,
                            role: turn.role, text: turn.text, tokens, appendId: appendIds[i] as string, turnId: turn.turnId ?? null,
                        }})));
                    }
                    await tx.conversation.update({where: {id: conversation.id}, data: {logLength: seq, tokenCount: {increment: tokenCount}}});
                    return logged;
                });
            } catch (error) {
                // The unique (conversation, turnId): another append logged this message first; this one must not be logged at all.
                if (isUniqueViolation(error, "turnId")) {
                    throw new StoreError("store/already_logged", `A turn of ${key} with this message id is logged already; not logging it twice`, {cause: error});
                }
                if (!(error instanceof StoreError)) this.metrics.databaseError();
                // Only a lost connection may pass on a later try; a refused write would fail the same way again.
                if (!isConnectionError(error)) throw asStoreError(error, `logging a turn of ${key}`);
                if (attempt >= this.appendAttempts) {
                    throw new StoreError("store/unavailable", `Could not log a turn of ${key} after ${attempt} tries: ${(error as Error).message}`, {cause: error});
                }
                await sleep(delay);
                delay *= 2;
            }
        }
    }

    async loggedAnswer(key: string, turnId: string): Promise<LoggedAnswer | null> {
        return this.guard(`looking up ${turnId} in ${key}`, async () => {
            const asked = await this.prisma.turn.findFirst({where: {turnId, conversation: {key}}, select: {conversationId: true, epoch: true, seq: true}});
            if (asked === null) return null;
            const reply = await this.prisma.turn.findUnique({
                where: {conversationId_epoch_seq: {conversationId: asked.conversationId, epoch: asked.epoch, seq: asked.seq + 1}},
                select: {role: true, text: true},
            });
            return {epoch: asked.epoch, reply: reply?.role === "assistant" ? reply.text : null};
        });
    }

    async checkpoint(key: string, input: CheckpointInput): Promise<string> {
        const dtype = input.dtype ?? this.dtype;
        const snapshot = encodeSnapshot(input.state, input.descriptor, dtype);
        return this.guard(`checkpoint of ${key}`, () => this.prisma.$transaction(async (tx) => {
            const conversation = await this.lockForWrite(tx, key, input.epoch);
            if (input.logSeq > conversation.logLength) throw new StoreError("store/invalid_checkpoint", `Checkpoint at turn ${input.logSeq} is past the log of ${key} (${conversation.logLength} turns)`);
            const id = await this.insertCheckpoint(tx, conversation.id, input.epoch, input.logSeq, input.descriptor.modelId, dtype, input.reason, snapshot);
            await tx.$executeRaw`
                DELETE FROM checkpoint WHERE "conversationId" = ${conversation.id}
                AND id NOT IN (SELECT id FROM checkpoint WHERE "conversationId" = ${conversation.id} ORDER BY id DESC LIMIT ${this.keepCheckpoints})`;
            return id;
        }, {timeout: 60_000}));
    }

    async planRestore(key: string, descriptor: StateDescriptor): Promise<RestorePlan> {
        return this.guard(`restore of ${key}`, async () => {
            const conversation = await this.requireConversation(key);
            const candidates = await this.prisma.checkpoint.findMany({
                where: {conversationId: conversation.id, epoch: conversation.epoch},
                orderBy: [{logSeq: "desc"}, {id: "desc"}],
                select: {id: true, logSeq: true, modelId: true, codecVersion: true},
            });
            const refusals: CheckpointRefusal[] = [];
            let checkpoint: RestorePlan["checkpoint"] = null;
            for (const candidate of candidates) {
                const refuse = (reason: CheckpointRefusal["reason"], message: string) =>
                    refusals.push({checkpointId: candidate.id.toString(), logSeq: candidate.logSeq, reason, message});
                // Metadata first: a checkpoint of another model or codec is refused without loading its blob.
                if (candidate.modelId !== descriptor.modelId) {
                    refuse("model_mismatch", `checkpoint is for model ${candidate.modelId.slice(0, 12)}…, the loaded model is ${descriptor.modelId.slice(0, 12)}…`);
                    continue;
                }
                if (candidate.codecVersion !== SNAPSHOT_CODEC_VERSION) {
                    refuse("unsupported_version", `checkpoint codec version ${candidate.codecVersion}, this build reads ${SNAPSHOT_CODEC_VERSION}`);
                    continue;
                }
                const blob = await this.db.readCheckpointState(candidate.id);
                if (blob === null) continue;
                const decoded = decodeSnapshot(blob, descriptor);
                if (!decoded.ok) {
                    refuse(decoded.reason, decoded.message);
                    continue;
                }
                checkpoint = {id: candidate.id.toString(), logSeq: candidate.logSeq, state: decoded.state};
                break;
            }
            const turns = await this.prisma.turn.findMany({
                where: {conversationId: conversation.id, epoch: conversation.epoch, seq: {gt: checkpoint?.logSeq ?? 0}},
                orderBy: {seq: "asc"},
                select: {tokens: true},
            });
            return {epoch: conversation.epoch, logLength: conversation.logLength, checkpoint, replayTokens: Uint32Array.from(turns.flatMap((t) => t.tokens)), refusals};
        });
    }

    async reset(key: string): Promise<number> {
        return this.guard(`reset of ${key}`, () => this.prisma.$transaction(async (tx) => {
            const conversation = await this.lockForWrite(tx, key, null);
            const epoch = conversation.epoch + 1;
            await tx.conversation.update({where: {id: conversation.id}, data: {epoch, logLength: 0, tokenCount: 0}});
            return epoch;
        }));
    }

    async transcript(key: string, epoch?: number): Promise<LoggedTurn[]> {
        return this.guard(`transcript of ${key}`, async () => {
            const conversation = await this.requireConversation(key);
            const rows = await this.prisma.turn.findMany({where: {conversationId: conversation.id, epoch: epoch ?? conversation.epoch}, orderBy: {seq: "asc"}});
            return rows.map(toTurn);
        });
    }

    async exportConversation(key: string, descriptor: StateDescriptor): Promise<Buffer> {
        return this.guard(`export of ${key}`, async () => {
            const conversation = toRecord(await this.requireConversation(key));
            const plan = await this.planRestore(key, descriptor);
            // The plan's epoch: a reset meanwhile must not pair this state with the new, shorter log.
            const transcript = await this.transcript(key, plan.epoch);
            const state = plan.checkpoint?.state ?? new Float32Array(stateElementCount(descriptor));
            return encodeExportFile({
                key,
                settings: conversation.settings,
                exportedAt: new Date().toISOString(),
                stateLogSeq: plan.checkpoint?.logSeq ?? 0,
                transcript: transcript.map((t) => ({role: t.role, text: t.text, tokens: [...t.tokens], createdAt: t.createdAt.toISOString()})),
            }, encodeSnapshot(state, descriptor, "fp32"));
        });
    }

    async importConversation(key: string, file: Uint8Array, descriptor: StateDescriptor): Promise<number> {
        const decoded = decodeExportFile(file, descriptor);
        if (!decoded.ok) throw new StoreError("store/import_refused", `Import refused: ${decoded.message}`);
        const {manifest, snapshot} = decoded.contents;
        return this.guard(`import into ${key}`, () => this.prisma.$transaction(async (tx) => {
            const conversation = await this.lockForWrite(tx, key, null);
            const epoch = conversation.epoch + 1;
            await tx.turn.createMany({data: manifest.transcript.map((t, i) => ({
                conversationId: conversation.id, epoch, seq: i + 1, role: t.role, text: t.text, tokens: t.tokens, appendId: randomUUID(), createdAt: new Date(t.createdAt),
            }))});
            await tx.conversation.update({where: {id: conversation.id}, data: {
                epoch, logLength: manifest.transcript.length, tokenCount: manifest.transcript.reduce((n, t) => n + t.tokens.length, 0),
                chatFormat: manifest.settings.chatFormat, sampling: manifest.settings.sampling as Prisma.InputJsonObject, persona: manifest.settings.persona,
            }});
            await this.insertCheckpoint(tx, conversation.id, epoch, manifest.stateLogSeq, descriptor.modelId, "fp32", "import", snapshot);
            return epoch;
        }, {timeout: 60_000}));
    }

    // The public methods run in here (appendTurn classifies its own failures, to retry):
    // callers see StoreErrors only, and a database gone away (store/unavailable) is told
    // apart from a request that failed.
    private async guard<T>(doing: string, work: () => Promise<T>): Promise<T> {
        try {
            return await work();
        } catch (error) {
            // A StoreError is the store's own refusal (not found, busy elsewhere), not the database failing.
            if (!(error instanceof StoreError)) this.metrics.databaseError();
            throw asStoreError(error, doing);
        }
    }

    async ping(): Promise<void> {
        await this.guard("checking the database", () => this.prisma.$queryRaw`SELECT 1`);
    }

    async countConversations(): Promise<number> {
        return this.guard("counting conversations", () => this.prisma.conversation.count());
    }

    // Locks the conversation row for the rest of the transaction: appends,
    // checkpoints and resets of one conversation are serialised, and a writer
    // that lost the lease, or whose turn began before a reset, is refused.
    private async lockForWrite(tx: Tx, key: string, epoch: number | null): Promise<LockedConversation> {
        const rows = await tx.$queryRaw<LockedConversation[]>`
            SELECT id, epoch, "logLength", "tokenCount", "leaseOwner" FROM conversation WHERE key = ${key} FOR UPDATE`;
        const row = rows[0];
        if (row === undefined) throw new StoreError("store/not_found", `No conversation ${key}`);
        if (row.leaseOwner !== this.options.owner) {
            throw new StoreError("store/busy_elsewhere", `Conversation ${key} is not leased to this process (${row.leaseOwner ?? "no one"} holds it)`);
        }
        if (epoch !== null && row.epoch !== epoch) {
            throw new StoreError("store/stale_epoch", `Conversation ${key} was reset (epoch ${row.epoch}); the write from epoch ${epoch} is dropped`);
        }
        return row;
    }

    private async insertCheckpoint(tx: Tx, conversationId: number, epoch: number, logSeq: number, modelId: string, dtype: SnapshotDtype, reason: string, snapshot: Uint8Array): Promise<string> {
        // Raw INSERT: Prisma's create() takes about twice as long for a large Bytes value.
        const rows = await tx.$queryRaw<{id: bigint}[]>`
            INSERT INTO checkpoint ("conversationId", epoch, "logSeq", "tokenCount", "modelId", "codecVersion", dtype, "byteLength", reason, state)
            SELECT ${conversationId}, ${epoch}, ${logSeq}, COALESCE(SUM(cardinality(tokens)), 0)::int, ${modelId}, ${SNAPSHOT_CODEC_VERSION}, ${dtype}, ${snapshot.byteLength}, ${reason}, ${Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength)}
            FROM turn WHERE "conversationId" = ${conversationId} AND epoch = ${epoch} AND seq <= ${logSeq}
            RETURNING id`;
        return rows[0]!.id.toString();
    }

    private async requireConversation(key: string) {
        const row = await this.prisma.conversation.findUnique({where: {key}});
        if (row === null) throw new StoreError("store/not_found", `No conversation ${key}`);
        return row;
    }
}

function toRecord(row: {key: string, platform: string, platformIds: unknown, chatFormat: string, sampling: unknown, persona: string | null, epoch: number, logLength: number, tokenCount: number}): ConversationRecord {
    return {
        key: row.key,
        settings: {
            platform: row.platform,
            platformIds: row.platformIds as Record<string, string>,
            chatFormat: row.chatFormat,
            sampling: row.sampling as Record<string, unknown>,
            persona: row.persona,
        },
        epoch: row.epoch,
        logLength: row.logLength,
        tokenCount: row.tokenCount,
    };
}

function toTurn(row: {epoch: number, seq: number, role: string, text: string, tokens: number[], createdAt: Date}): LoggedTurn {
    return {epoch: row.epoch, seq: row.seq, role: row.role as TurnRole, text: row.text, tokens: row.tokens, createdAt: row.createdAt};
}

// Prisma's P2002 names the columns of the unique constraint that refused the row (its `target`, or the driver adapter's `constraint.fields`).
function isUniqueViolation(error: unknown, column: string): boolean {
    const {code, meta} = error as {code?: unknown; meta?: Record<string, unknown>};
    if (code !== "P2002") return false;
    return JSON.stringify(meta ?? {}).includes(column);
}
