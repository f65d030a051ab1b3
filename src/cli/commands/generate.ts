import {RwkvModel} from "../../inference/RwkvModel.ts";
import {chatSamplingDefaults, mergeSamplingOptions, samplingOptionProblems} from "../../inference/SamplingOptions.ts";
import type {SamplingOptions} from "../../inference/SamplingOptions.ts";
import {chatFormats, isChatFormatName, sanitizeUserText} from "../../session/chatFormats.ts";
import {createReplySampling} from "../../session/createReplySampling.ts";
import {generateReply} from "../../session/generateReply.ts";
import type {CliCommand, ParsedArgs} from "../CliCommand.ts";
import {precisionFlag, precisionUsage} from "../precisionFlag.ts";
import {UsageError} from "../UsageError.ts";
import {checkVocabFlags, loadVocabFlags, vocabFlags, vocabFlagsUsage} from "../vocabFlags.ts";

const defaultMaxTokens = 200;

/** `generate --model FILE --prompt TEXT …`: one chat reply from a fresh state, streamed to stdout. */
export const command: CliCommand = {
    name: "generate",
    summary: "stream one reply of the model to a prompt (fresh conversation)",
    usage: [
        "usage: npm run -s cli -- generate --model FILE --prompt TEXT [flags]",
        "",
        "  --model FILE        RWKV-5.2 checkpoint (.pth)",
        ...vocabFlagsUsage,
        "  --prompt TEXT       the user's message",
        "  --format NAME       chat (User: …\\n\\nAssistant:), seed (<s>User:…\\n\\n</s>Assistant:) or",
        "                      completion (make this content longer); defaults to chat",
        `  --max-tokens N      most tokens to generate; defaults to ${defaultMaxTokens}`,
        `  --temperature T     defaults to ${chatSamplingDefaults.temperature} (0 = greedy)`,
        `  --top-p P           defaults to ${chatSamplingDefaults.topP}`,
        "  --top-k K           defaults to 0 (off)",
        "  --seed S            seed of the random draw, for a reproducible reply",
        precisionUsage("auto"),
        "",
        "The reply ends at a blank line (not printed), at --max-tokens, or on Ctrl-C.",
    ].join("\n"),
    options: {
        "model": {type: "string"},
        ...vocabFlags,
        "prompt": {type: "string"},
        "format": {type: "string"},
        "max-tokens": {type: "string"},
        "temperature": {type: "string"},
        "top-p": {type: "string"},
        "top-k": {type: "string"},
        "seed": {type: "string"},
        "precision": {type: "string"},
    },
    async run(args) {
        const modelPath = args.requireString("model");
        const formatName = args.string("format") ?? "chat";
        if (!isChatFormatName(formatName)) throw new UsageError(`--format must be chat, seed or completion, not "${formatName}"`);
        const precision = precisionFlag(args, "auto");
        const maxTokens = numberFlag(args, "max-tokens") ?? defaultMaxTokens;
        if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new UsageError("--max-tokens must be an integer ≥ 0");
        const sampling = samplingFlags(args);

        const format = chatFormats[formatName];
        const tokenizer = await loadVocabFlags(args);
        const prompt = tokenizer.encode(format.userTurn(sanitizeUserText(args.requireString("prompt"), format)));

        const showProgress = process.stderr.isTTY;
        const abort = new AbortController();
        const onSigint = (): void => abort.abort();
        process.once("SIGINT", onSigint);
        const model = await RwkvModel.load(modelPath, {
            precision,
            signal: abort.signal,
            ...(showProgress ? {onProgress: (fraction: number) => process.stderr.write(`\rloading ${(fraction * 100).toFixed(0)}%`)} : {}),
        });
        if (showProgress) process.stderr.write("\n");
        try {
            checkVocabFlags(args, tokenizer, model.info.nVocab);
            const engine = await model.createEngine({slots: 1});
            await generateReply({
                engine,
                slot: 0,
                tokenizer,
                sampling: createReplySampling(sampling, tokenizer, model.info.nVocab),
                prompt,
                maxTokens,
                stop: format.stop,
                signal: abort.signal,
                onText: (_textSoFar, delta) => process.stdout.write(delta),
            });
            process.stdout.write("\n");
            return 0;
        } finally {
            process.removeListener("SIGINT", onSigint);
            await model.dispose();
        }
    },
};

function numberFlag(args: ParsedArgs, name: string): number | undefined {
    const text = args.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, not "${text}"`);
    return value;
}

function samplingFlags(args: ParsedArgs): SamplingOptions {
    const overrides: Partial<SamplingOptions> = {
        temperature: numberFlag(args, "temperature"),
        topP: numberFlag(args, "top-p"),
        topK: numberFlag(args, "top-k"),
        seed: numberFlag(args, "seed"),
    };
    const merged = mergeSamplingOptions(chatSamplingDefaults, overrides);
    if (!merged.ok) {
        const flags = {temperature: "--temperature", topP: "--top-p", topK: "--top-k", seed: "--seed"};
        const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
        throw new UsageError(samplingOptionProblems({...chatSamplingDefaults, ...given}, flags).join("; "));
    }
    return merged.options;
}
