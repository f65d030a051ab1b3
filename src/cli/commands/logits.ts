import {readFile, writeFile} from "node:fs/promises";
import {EngineError} from "../../errors/BotError.ts";
import type {RwkvEngine} from "../../inference/RwkvEngine.ts";
import {RwkvModel} from "../../inference/RwkvModel.ts";
import type {CliCommand} from "../CliCommand.ts";
import {precisionFlag, precisionUsage} from "../precisionFlag.ts";
import type {LegacyPrecisionFlag} from "../precisionFlag.ts";
import {UsageError} from "../UsageError.ts";

const legacy: LegacyPrecisionFlag = {flag: "fast", precision: "16bit"};

const usage = `usage: npm run -s cli -- logits --model FILE --tokens 1,2,3 --out OUT.f32 [--mode rnn|seq]
                          [--state-in S.f32] [--state-out S.f32] [--precision P]

Runs the model on the tokens and writes the logits as float32 little-endian,
one row of n_vocab per input token, in token order.
  --mode rnn     one forward pass per token (default)
  --mode seq     one forward pass over all tokens
  --state-in     start from this state (raw float32, docs/rwkv5.md §7 layout) instead of zero
  --state-out    write the final state there (same format)
${precisionUsage("fp32", legacy)}`;

function parseTokens(text: string): number[] {
    const tokens = text.split(",").map((part) => part.trim());
    if (tokens.some((token) => !/^\d+$/.test(token))) {
        throw new UsageError(`--tokens must be comma-separated non-negative integers, got "${text}"`);
    }
    return tokens.map(Number);
}

async function readState(path: string, expectedBytes: number): Promise<Float32Array> {
    let bytes: Buffer;
    try {
        bytes = await readFile(path);
    } catch (error) {
        throw new EngineError("engine/io", `Cannot read the state file ${path}: ${(error as Error).message}`, {cause: error});
    }
    if (bytes.byteLength !== expectedBytes) {
        throw new EngineError(
            "engine/invalid_argument",
            `The state file ${path} is ${bytes.byteLength} bytes; this model's state is ${expectedBytes} bytes`,
        );
    }
    // Copied into a fresh, aligned buffer: a Buffer may sit at any offset of a shared pool.
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function write(path: string, data: Float32Array): Promise<void> {
    try {
        await writeFile(path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (error) {
        throw new EngineError("engine/io", `Cannot write ${path}: ${(error as Error).message}`, {cause: error});
    }
}

async function runTokens(engine: RwkvEngine, tokens: readonly number[], mode: string): Promise<Float32Array> {
    const {nVocab} = engine.info;
    if (mode === "seq") {
        const [output] = await engine.step([{slot: 0, tokens, logits: "all"}]);
        return output!.logits!;
    }
    const logits = new Float32Array(tokens.length * nVocab);
    for (const [index, token] of tokens.entries()) {
        const [output] = await engine.step([{slot: 0, tokens: [token], logits: "last"}]);
        logits.set(output!.logits!, index * nVocab);
    }
    return logits;
}

/** `logits`: golden-comparable logits (and states) for a token list. */
export const command: CliCommand = {
    name: "logits",
    summary: "write the logits of a token list (rnn or seq mode) as float32",
    usage,
    options: {
        "model": {type: "string"},
        "tokens": {type: "string"},
        "out": {type: "string"},
        "mode": {type: "string", default: "rnn"},
        "state-in": {type: "string"},
        "state-out": {type: "string"},
        "precision": {type: "string"},
        "fast": {type: "boolean", default: false},
    },
    async run(args) {
        const modelPath = args.requireString("model");
        const tokens = parseTokens(args.requireString("tokens"));
        const out = args.requireString("out");
        const mode = args.requireString("mode");
        if (mode !== "rnn" && mode !== "seq") throw new UsageError(`--mode must be rnn or seq, got "${mode}"`);
        const stateIn = args.string("state-in");
        const stateOut = args.string("state-out");

        const model = await RwkvModel.load(modelPath, {precision: precisionFlag(args, "fp32", legacy)});
        try {
            const engine = await model.createEngine({slots: 1, maxBatchTokens: Math.max(512, tokens.length)});
            if (stateIn !== undefined) await engine.importState(0, await readState(stateIn, model.info.stateByteLength));
            const logits = await runTokens(engine, tokens, mode);
            await write(out, logits);
            if (stateOut !== undefined) await write(stateOut, await engine.exportState(0));
            console.log(`wrote ${tokens.length} × ${model.info.nVocab} logits to ${out}`);
            return 0;
        } finally {
            await model.dispose();
        }
    },
};
