import {adapterRegistry} from "../../adapters/registry.ts";
import type {EnabledAdapter, RegisteredAdapter} from "../../adapters/shared/AdapterModule.ts";
import {ConfigError} from "../errors/BotError.ts";
import {parsePrecision, precisionWords} from "../inference/Precision.ts";
import {chatSamplingDefaults, samplingOptionProblems} from "../inference/SamplingOptions.ts";
import type {SamplingOptions} from "../inference/SamplingOptions.ts";
import {worldVocabPath} from "../inference/worldVocab.ts";
import {batchStrategyNames} from "../scheduler/strategies/batchStrategies.ts";
import {chatFormats} from "../session/chatFormats.ts";
import type {ChatFormatName} from "../session/chatFormats.ts";
import {logFormats, logLevels} from "../ops/createLogger.ts";
import {defaultCheckpointPolicy} from "../store/checkpointDue.ts";
import type {BotConfig} from "./BotConfig.ts";
import {EnvReader} from "../core/EnvReader.ts";
import type {Env} from "../core/EnvReader.ts";

/**
 * Reads and validates every variable the bot uses (`.env.example` documents them); each
 * platform of `registry` reads its own.
 *
 * @throws ConfigError `config/invalid` whose message lists every problem, one per line.
 */
export function loadConfig(env: Env, registry: readonly RegisteredAdapter[] = adapterRegistry): BotConfig {
    const read = new EnvReader(env);
    const modelPath = read.required("RWKV_MODEL_PATH", "the path of the RWKV-5 .pth checkpoint to run");
    const slots = read.integer("ENGINE_SLOTS", 8, 1, 1024);
    const maxBatchTokens = read.integer("ENGINE_MAX_BATCH_TOKENS", 512, 1, 65536);
    const prefillChunkTokens = read.integer("PREFILL_CHUNK_TOKENS", 128, 1, 65536);
    if (maxBatchTokens < slots) read.problems.push(`ENGINE_MAX_BATCH_TOKENS (${maxBatchTokens}) must be at least ENGINE_SLOTS (${slots}): every slot needs room for its decode token`);
    const sampling = readSampling(read);
    const precision = parsePrecision(read.oneOf("ENGINE_PRECISION", precisionWords, "auto")) ?? "auto";
    const backend = read.oneOf("ENGINE_BACKEND", ["auto", "cpu", "cuda"], "auto");
    if (backend === "cuda" && precision === "fp32") read.problems.push("ENGINE_PRECISION=fp32 runs on the CPU backend only: set ENGINE_BACKEND=cpu or auto, or ENGINE_PRECISION=16bit, int8 or auto for CUDA");
    // Each platform adapter reads its own section; a platform whose token is unset is off.
    const adapters: EnabledAdapter[] = [];
    for (const platform of registry) {
        const {enabled, problems} = platform.configure(env);
        read.problems.push(...problems);
        if (enabled !== null) adapters.push(enabled);
    }
    const config: BotConfig = {
        model: {
            path: modelPath ?? "",
            vocabPath: read.string("RWKV_VOCAB") ?? worldVocabPath,
            vocabCustom: read.boolean("RWKV_VOCAB_CUSTOM", false),
            precision,
            memoryBudget: read.byteSize("ENGINE_MEMORY_BUDGET") ?? 0,
            backend,
            threads: read.integer("ENGINE_THREADS", 0, 0, 1024),
        },
        scheduler: {slots, maxBatchTokens, prefillChunkTokens, strategy: read.oneOf("BATCH_STRATEGY", batchStrategyNames, "fairRoundRobin")},
        limits: {
            queueMax: read.integer("QUEUE_MAX", 64, 0),
            userCooldownMs: read.integer("USER_COOLDOWN_MS", 1000, 0),
            conversationMaxPending: read.integer("CONVERSATION_MAX_PENDING", 3, 1),
            maxMessageChars: read.integer("MAX_MESSAGE_CHARS", 8000, 1),
            editMinIntervalMs: read.integer("EDIT_MIN_INTERVAL_MS", 1000, 0),
            editsPerSecond: read.integer("EDITS_PER_SECOND", 5, 1),
        },
        reply: {
            chatFormat: read.oneOf("CHAT_FORMAT", Object.keys(chatFormats) as ChatFormatName[], "chat"),
            sampling,
            // One line in a .env file: `\n` stands for a newline.
            persona: read.string("BOT_PERSONA")?.replace(/\\n/g, "\n") ?? null,
            maxTokens: read.integer("REPLY_MAX_TOKENS", 400, 1),
        },
        storage: {
            ...optional("databaseUrl", read.url("DATABASE_URL", ["postgres:", "postgresql:"])),
            dataDir: read.string("BOT_DATA_DIR") ?? ".data/pglite",
            migrate: read.boolean("DB_AUTO_MIGRATE", true),
            checkpoint: {
                everyTokens: read.integer("CHECKPOINT_EVERY_TOKENS", defaultCheckpointPolicy.everyTokens, 1),
                quietMs: read.integer("CHECKPOINT_QUIET_MS", defaultCheckpointPolicy.quietMs, 0),
            },
            leaseMs: read.integer("LEASE_MS", 30_000, 1000),
            ...optional("outboxDir", read.string("BOT_OUTBOX_DIR")),
            outboxMaxConversations: read.integer("OUTBOX_MAX_CONVERSATIONS", 1000, 1),
        },
        ops: {
            logLevel: read.oneOf("LOG_LEVEL", logLevels, "info"),
            logFormat: read.oneOf("LOG_FORMAT", logFormats, "auto"),
            ...(read.string("METRICS_PORT") === undefined ? {} : {metricsPort: read.integer("METRICS_PORT", 0, 0, 65535)}),
            metricsHost: read.string("METRICS_HOST") ?? "127.0.0.1",
        },
        ...optional("redisUrl", read.url("REDIS_URL", ["redis:", "rediss:"])),
        clusterName: read.string("CLUSTER_NAME") ?? "rwkv-bot",
        consoleConversation: read.string("CONSOLE_CONVERSATION") ?? "default",
        adapters,
    };
    if (read.problems.length > 0) {
        throw new ConfigError("config/invalid", `The configuration has ${read.problems.length} problem(s):\n${read.problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    return config;
}

/** The variable each sampling option is read from, so that a problem names it. */
const samplingVariables = {
    temperature: "SAMPLING_TEMPERATURE", topP: "SAMPLING_TOP_P", topK: "SAMPLING_TOP_K", presencePenalty: "SAMPLING_PRESENCE_PENALTY",
    frequencyPenalty: "SAMPLING_FREQUENCY_PENALTY", penaltyDecay: "SAMPLING_PENALTY_DECAY", seed: "SAMPLING_SEED",
} as const satisfies Partial<Record<keyof SamplingOptions, string>>;

function readSampling(read: EnvReader): SamplingOptions {
    const options: SamplingOptions = {...chatSamplingDefaults};
    for (const [key, variable] of Object.entries(samplingVariables)) {
        const value = read.number(variable);
        if (value !== undefined) Object.assign(options, {[key]: value});
    }
    const problems = samplingOptionProblems(options, samplingVariables);
    read.problems.push(...problems);
    return problems.length === 0 ? options : chatSamplingDefaults;
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
    return value === undefined ? {} : {[key]: value} as Record<K, string>;
}
