import type {EnabledAdapter} from "../../adapters/shared/AdapterModule.ts";
import type {PrecisionRequest} from "../core/Precision.ts";
import type {LogFormat, LogLevel} from "../ops/createLogger.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import type {BatchStrategyName} from "../scheduler/strategies/batchStrategies.ts";
import type {ChatFormatName} from "../session/chatFormats.ts";
import type {CheckpointPolicy} from "../store/checkpointDue.ts";

/** The model and how it is run. */
export interface ModelConfig {
    /** `RWKV_MODEL_PATH`: the `.pth` checkpoint. */
    readonly path: string;
    /** `RWKV_VOCAB`: the vocabulary; defaults to the World vocabulary shipped in `vocab/`. */
    readonly vocabPath: string;
    /** `RWKV_VOCAB_CUSTOM`: a vocabulary that looks like the World one but differs is meant (see worldVocab.ts). Defaults to false. */
    readonly vocabCustom: boolean;
    /** `ENGINE_PRECISION` (`fast` is read as `16bit`). Defaults to `"auto"`: 16bit when it fits, else int8. */
    readonly precision: PrecisionRequest;
    /** `ENGINE_MEMORY_BUDGET` in bytes: what the weights may occupy; 0 (unset) = the free memory less a reserve. */
    readonly memoryBudget: number;
    /** `ENGINE_BACKEND`. Defaults to `"auto"`. */
    readonly backend: "auto" | "cpu" | "cuda";
    /** `ENGINE_THREADS`; 0 = all cores. */
    readonly threads: number;
}

/** The scheduler and its engine. */
export interface SchedulerConfig {
    /** `ENGINE_SLOTS`: conversations held in the engine at once. Defaults to 8. */
    readonly slots: number;
    /** `ENGINE_MAX_BATCH_TOKENS`: tokens one batched step may carry. Defaults to 512. */
    readonly maxBatchTokens: number;
    /** `PREFILL_CHUNK_TOKENS`: prompt tokens a conversation feeds per step. Defaults to 128. */
    readonly prefillChunkTokens: number;
    /** `BATCH_STRATEGY`. Defaults to `"fairRoundRobin"`. */
    readonly strategy: BatchStrategyName;
}

/** Admission and rate limits. */
export interface LimitsConfig {
    /** `QUEUE_MAX`: chat turns waiting for the engine before new ones get a busy reply. Defaults to 64. */
    readonly queueMax: number;
    /** `USER_COOLDOWN_MS`: least time between two chat turns of one user (ms); 0 = none. Defaults to 1000. */
    readonly userCooldownMs: number;
    /** `CONVERSATION_MAX_PENDING`: turns of one conversation queued or running. Defaults to 3. */
    readonly conversationMaxPending: number;
    /** `MAX_MESSAGE_CHARS`: longest accepted message. Defaults to 8000. */
    readonly maxMessageChars: number;
    /** `EDIT_MIN_INTERVAL_MS`: least time between two edits of one message. Defaults to 1000. */
    readonly editMinIntervalMs: number;
    /** `EDITS_PER_SECOND`: edits per second over all messages. Defaults to 5. */
    readonly editsPerSecond: number;
}

/** What a new conversation starts with; admins change them per conversation. */
export interface ReplyConfig {
    /** `CHAT_FORMAT`. Defaults to `"chat"`. */
    readonly chatFormat: ChatFormatName;
    /** `SAMPLING_*` over the chat defaults. */
    readonly sampling: SamplingOptions;
    /** `BOT_PERSONA`: text fed once at the start of every conversation (and after each reset). */
    readonly persona: string | null;
    /** `REPLY_MAX_TOKENS`: longest reply. Defaults to 400. */
    readonly maxTokens: number;
}

/** Where and how state is kept. */
export interface StorageConfig {
    /** `DATABASE_URL`; unset = the embedded database in {@link dataDir}. */
    readonly databaseUrl?: string;
    /** `BOT_DATA_DIR`. Defaults to `.data/pglite`. */
    readonly dataDir: string;
    /** `DB_AUTO_MIGRATE`. Defaults to true. */
    readonly migrate: boolean;
    /** `CHECKPOINT_EVERY_TOKENS` / `CHECKPOINT_QUIET_MS`. */
    readonly checkpoint: CheckpointPolicy;
    /** `LEASE_MS`: leases last as long as their process; it checks that it still holds them every third of this. Defaults to 30 000. */
    readonly leaseMs: number;
    /**
     * `BOT_OUTBOX_DIR`: where finished turns wait while the database is down. Defaults to `outbox`
     * beside {@link dataDir} (a temporary directory when the database is in memory).
     */
    readonly outboxDir?: string;
    /** `OUTBOX_MAX_CONVERSATIONS`: conversations with a turn waiting before new chat turns are refused. Defaults to 1000. */
    readonly outboxMaxConversations: number;
}

/** What the operator sees: logs, metrics and health checks. */
export interface OpsConfig {
    /** `LOG_LEVEL`. Defaults to `"info"`. */
    readonly logLevel: LogLevel;
    /** `LOG_FORMAT`: `json`, `pretty`, or `auto` (default: readable on a terminal, JSON lines otherwise). */
    readonly logFormat: LogFormat;
    /** `METRICS_PORT`: where `/metrics`, `/healthz` and `/readyz` are served; unset = off. */
    readonly metricsPort?: number;
    /** `METRICS_HOST`. Defaults to `127.0.0.1`. */
    readonly metricsHost: string;
}

/** Everything the bot reads from its environment, validated. */
export interface BotConfig {
    readonly model: ModelConfig;
    readonly scheduler: SchedulerConfig;
    readonly limits: LimitsConfig;
    readonly reply: ReplyConfig;
    readonly storage: StorageConfig;
    readonly ops: OpsConfig;
    /**
     * `REDIS_URL`: shares the rate limits between processes; with `DATABASE_URL` too, the
     * processes route each conversation's turns to the one serving it (README § Running several processes).
     */
    readonly redisUrl?: string;
    /** `CLUSTER_NAME`: the prefix of the deployment's Redis keys (several deployments may share a server). Defaults to `"rwkv-bot"`. */
    readonly clusterName: string;
    /** `CONSOLE_CONVERSATION`: the console adapter's conversation name. Defaults to `"default"`. */
    readonly consoleConversation: string;
    /** The registered platforms whose settings are set (e.g. `DISCORD_TOKEN`), in registry order. */
    readonly adapters: readonly EnabledAdapter[];
}
