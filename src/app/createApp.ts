import {randomBytes} from "node:crypto";
import {setTimeout as sleep} from "node:timers/promises";
import {hostname, tmpdir} from "node:os";
import path from "node:path";
import type {BotConfig} from "../config/BotConfig.ts";
import {asBotError, ConfigError} from "../errors/BotError.ts";
import type {RwkvEngine} from "../inference/RwkvEngine.ts";
import {RwkvModel} from "../inference/RwkvModel.ts";
import type {ModelInfo} from "../core/ModelInfo.ts";
import {Tokenizer} from "../inference/Tokenizer.ts";
import {checkWorldVocab} from "../inference/worldVocab.ts";
import {describeLoadedPrecision} from "../inference/Precision.ts";
import type {AdapterContext} from "../../adapters/shared/AdapterModule.ts";
import {BatchDispatcher} from "../scheduler/BatchDispatcher.ts";
import {batchStrategies} from "../scheduler/strategies/batchStrategies.ts";
import {EditThrottle} from "../../adapters/shared/EditThrottle.ts";
import {Scheduler} from "../scheduler/Scheduler.ts";
import {TurnLimits} from "../scheduler/TurnLimits.ts";
import {openDatabase} from "../store/db/openDatabase.ts";
import type {Database} from "../store/db/openDatabase.ts";
import {PrismaStateStore} from "../store/PrismaStateStore.ts";
import type {StateStore} from "../store/StateStore.ts";
import {TurnOutbox} from "../store/TurnOutbox.ts";
import type {Adapter, TurnHandler} from "../core/Adapter.ts";
import type {ReplySink} from "../core/ReplySink.ts";
import type {Turn} from "../core/Turn.ts";
import {ClusterRouter} from "../cluster/ClusterRouter.ts";
import {createRouter} from "./createRouter.ts";
import type {Logger} from "../core/Logger.ts";
import {noMetrics} from "../core/Metrics.ts";
import type {BotMetrics} from "../ops/BotMetrics.ts";

/** How long `/readyz` waits for the database's answer. */
const readinessTimeoutMs = 2000;

/** Options of {@link createApp}. */
export interface AppOptions {
    /** The process's one logger (`createLogger`). */
    readonly log: Logger;
    /** The Prometheus metrics, when `METRICS_PORT` serves them; none are recorded without. */
    readonly metrics?: BotMetrics;
    /** Model-load progress (0..1). */
    readonly onLoadProgress?: (fraction: number) => void;
    /** Aborts the model load (`engine/aborted`), e.g. on a stop signal during start-up. */
    readonly signal?: AbortSignal;
    /** Builds the adapters once the core is up (see `createAdapters`); none = a core driven by its `handler`. */
    readonly adapters?: (context: AdapterContext) => Adapter[];
    /** How long running turns may finish at shutdown before they are aborted (ms). Defaults to 10 000. */
    readonly shutdownGraceMs?: number;
}

/** A composed bot: model, engine, store, scheduler, router and adapters. */
export interface App {
    readonly model: ModelInfo;
    readonly engine: RwkvEngine;
    readonly store: StateStore;
    readonly scheduler: Scheduler;
    /** The router: what adapters deliver turns to. */
    readonly handler: TurnHandler;
    /** Why the bot is not ready to serve (the database unreachable, a platform not connected); empty when it is. */
    notReady(): Promise<string[]>;
    /** Starts every adapter. */
    start(): Promise<void>;
    /**
     * Graceful shutdown (idempotent): stop admitting (later turns get a "shutting down" reply),
     * finish or abort the turns in flight and deliver their replies, checkpoint every conversation
     * with unsaved tokens, then disconnect the adapters and close engine and database.
     */
    stop(): Promise<void>;
}

/** The composition root: builds everything from a validated config; undoes what it built if a step fails. */
export async function createApp(config: BotConfig, options: AppOptions): Promise<App> {
    const {log} = options;
    const metrics = options.metrics ?? noMetrics;
    const undo: (() => Promise<void>)[] = [];
    try {
        // The database first: loading a large model takes minutes, a missing database seconds to report.
        const database: Database = await openDatabase({
            ...(config.storage.databaseUrl === undefined ? {} : {url: config.storage.databaseUrl}),
            dataDir: config.storage.dataDir, migrate: config.storage.migrate,
            onRetry: (error, attempt) => log.warn(`database not reachable yet (attempt ${attempt})`, error),
        });
        undo.push(() => database.close());
        const [loadedModel, loadedTokenizer] = await Promise.allSettled([
            RwkvModel.load(config.model.path, {
                precision: config.model.precision, backend: config.model.backend, threads: config.model.threads,
                ...(config.model.memoryBudget > 0 ? {memoryBudget: config.model.memoryBudget} : {}),
                ...(options.onLoadProgress === undefined ? {} : {onProgress: options.onLoadProgress}),
                ...(options.signal === undefined ? {} : {signal: options.signal}),
            }),
            Tokenizer.load(config.model.vocabPath, "RWKV_VOCAB"),
        ]);
        if (loadedModel.status === "fulfilled") undo.push(() => loadedModel.value.dispose());
        // The model's problem first: the vocabulary is judged against the model (below).
        if (loadedModel.status === "rejected") throw loadedModel.reason;
        if (loadedTokenizer.status === "rejected") throw loadedTokenizer.reason;
        const model = loadedModel.value;
        const tokenizer = loadedTokenizer.value;
        checkWorldVocab({
            path: config.model.vocabPath, sha256: tokenizer.sha256, vocabSize: tokenizer.vocabSize, modelRows: model.info.nVocab,
            custom: config.model.vocabCustom, settings: {path: "RWKV_VOCAB", custom: "set RWKV_VOCAB_CUSTOM=1"},
        });
        if (tokenizer.vocabSize > model.info.nVocab) {
            throw new ConfigError(
                "config/vocab_mismatch",
                `the vocabulary ${config.model.vocabPath} has ids up to ${tokenizer.vocabSize - 1}, but the model ${config.model.path} has only ${model.info.nVocab} tokens: they do not belong together (set RWKV_VOCAB)`,
            );
        }
        const {slots, maxBatchTokens, prefillChunkTokens, strategy} = config.scheduler;
        const engine: RwkvEngine = await model.createEngine({slots, threads: config.model.threads, maxBatchTokens});
        // Who this process is, in leases and in the cluster's streams.
        const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
        const store = new PrismaStateStore(database, {owner, metrics});
        const outbox = new TurnOutbox(config.storage.outboxDir ?? defaultOutboxDir(config.storage.dataDir), config.storage.outboxMaxConversations);
        const {info} = model;
        const limits = new TurnLimits({
            maxConcurrent: slots, queueMax: config.limits.queueMax, userCooldownMs: config.limits.userCooldownMs,
            conversationMaxPending: config.limits.conversationMaxPending,
            ...(config.redisUrl === undefined ? {} : {redisUrl: config.redisUrl}),
        });
        // Set below when the processes share Redis and Postgres; the scheduler hands it turns another process took meanwhile.
        let cluster: ClusterRouter | null = null;
        const elsewhere = (turn: Turn, sink: ReplySink): Promise<boolean> => cluster?.elsewhere(turn, sink) ?? Promise.resolve(false);
        const dispatcher = new BatchDispatcher(engine, {maxBatchTokens, strategy: batchStrategies[strategy], metrics});
        const scheduler = new Scheduler({
            dispatcher,
            services: {
                engine, stepper: dispatcher, tokenizer, store, outbox,
                sampling: config.reply.sampling, maxTokens: config.reply.maxTokens, prefillChunkTokens,
                checkpointPolicy: config.storage.checkpoint, metrics,
            },
            limits, slotCount: slots, maxMessageChars: config.limits.maxMessageChars, leaseMs: config.storage.leaseMs, log,
            newConversation: {chatFormat: config.reply.chatFormat, sampling: {}, persona: config.reply.persona},
            elsewhere,
        });
        // What a killed run left waiting is logged before anything new.
        await scheduler.deliverOutbox();
        const router = createRouter({scheduler, model: info, sampling: config.reply.sampling, log, instance: owner, elsewhere});
        const editThrottle = new EditThrottle({
            minIntervalMs: config.limits.editMinIntervalMs, globalEditsPerSecond: config.limits.editsPerSecond,
            onError: (error) => log.warn("a streamed edit failed; the next edit carries the newest text", error),
        });
        const adapters = options.adapters?.({editThrottle, log, metrics}) ?? [];
        options.metrics?.setModel(info, slots);
        options.metrics?.observe({load: () => scheduler.load, countConversations: () => store.countConversations()});
        if (config.redisUrl !== undefined && config.storage.databaseUrl !== undefined) {
            cluster = new ClusterRouter({
                redisUrl: config.redisUrl, name: config.clusterName, self: owner, leaseMs: config.storage.leaseMs, local: router, log,
                holderOf: (key) => store.leaseHolder(key),
                sinkFor: (platform, address) => adapters.find((adapter) => adapter.platform === platform)?.replySink?.(address) ?? null,
                attachmentFor: (platform, file, signal) => adapters.find((adapter) => adapter.platform === platform)?.attachment?.(file, signal) ?? null,
                load: () => ({slots, resident: scheduler.residentConversations, queueDepth: scheduler.queueDepth.waitingTurns}),
            });
        }
        // Without a cluster nothing outlives this process: a turn is as safe as it will be once it is here.
        const handler: TurnHandler = cluster?.handler ?? ((turn, sink, accepted) => {
            accepted?.();
            return router(turn, sink);
        });
        log.info(`model ${info.path} (${info.modelId.slice(0, 12)}…) on ${info.backend}, ${describeLoadedPrecision(config.model.precision, info)}, ${slots} slots; database ${database.kind} ${database.description}`, {
            precision: info.precision, weightBytes: info.weightBytes, memoryBudget: info.memoryBudget,
        });

        let stopping: Promise<void> | null = null;
        const stop = async (): Promise<void> => {
            // The core closes its intake first and finishes its turns while the adapters can still
            // deliver their replies; stopping an adapter aborts whatever it still has in flight.
            // In a cluster, turns stop coming here first; once the shutdown released its conversations, they go to live processes.
            await cluster?.leave();
            await scheduler.shutdown(options.shutdownGraceMs);
            await cluster?.close();
            for (const adapter of adapters) await adapter.stop().catch((error: unknown) => log.warn(`stopping the ${adapter.platform} adapter failed`, error));
            await editThrottle.stop();
            await engine.dispose();
            await model.dispose();
            await database.close();
        };
        return {
            model: info, engine, store, scheduler, handler,
            notReady: async () => {
                if (stopping !== null) return ["shutting down"];
                const reasons = adapters.filter((adapter) => !adapter.connected).map((adapter) => `${adapter.platform} is not connected`);
                // A database that does not answer at all (a dropped route) must not hold the probe past its own timeout.
                const answered = await Promise.race([
                    store.ping().then(() => null, (error: unknown) => `the database is unreachable (${asBotError(error).code})`),
                    sleep(readinessTimeoutMs, `the database does not answer (${readinessTimeoutMs / 1000} s)`, {ref: false}),
                ]);
                if (answered !== null) reasons.unshift(answered);
                return reasons;
            },
            start: async () => {
                for (const adapter of adapters) await adapter.start(handler);
                // After the adapters: turns claimed from other processes are answered through them.
                await cluster?.start();
            },
            stop: () => (stopping ??= stop()),
        };
    } catch (error) {
        for (const step of undo.reverse()) await step().catch(() => undefined);
        throw error;
    }
}

// Beside the embedded database's directory; an in-memory database keeps nothing across runs, nor does its outbox (created only if used).
function defaultOutboxDir(dataDir: string): string {
    if (dataDir.startsWith("memory://")) return path.join(tmpdir(), `rwkv-outbox-${process.pid}-${randomBytes(4).toString("hex")}`);
    return path.join(path.dirname(path.resolve(dataDir)), "outbox");
}
