import {fileURLToPath} from "node:url";
import type {RwkvEngine} from "../../../src/inference/RwkvEngine.ts";
import {RwkvModel} from "../../../src/inference/RwkvModel.ts";
import {chatSamplingDefaults} from "../../../src/inference/SamplingOptions.ts";
import {createReplySampling} from "../../../src/session/createReplySampling.ts";
import {EngineSlotReplayer} from "../../../src/session/EngineSlotReplayer.ts";
import {generateReply} from "../../../src/session/generateReply.ts";
import {smallTokenizer} from "../../unit/tokenizer/smallVocab.ts";

const modelFile = fileURLToPath(new URL("../../fixtures/models/tiny-L3-C128-V1024.fp32.pth", import.meta.url));
// Byte-level ids 1..256: inside the tiny model's 1024; the sampler bans the rest.
const tokenizer = smallTokenizer();
const replyTokens = 12;

/**
 * The real CPU engine on the tiny fp32 fixture model, one slot, playing a
 * scripted chat with greedy replies: what the store tests persist and restore.
 * An exchange is two logged turns: the user's `User: …\n\n`, then the
 * assistant's `Assistant:` prompt plus its reply, so that a reply lost to a
 * crash is regenerated from exactly the logged state.
 */
export class TinyChat {
    readonly replayer: EngineSlotReplayer;
    private readonly sampling = createReplySampling({...chatSamplingDefaults, temperature: 0}, tokenizer, 1024);

    private constructor(private readonly model: RwkvModel, readonly engine: RwkvEngine) {
        this.replayer = new EngineSlotReplayer(engine, 0);
    }

    /** Loads the model (fp32 weights, CPU, one thread: the same engine in every process). */
    static async load(): Promise<TinyChat> {
        const model = await RwkvModel.load(modelFile, {precision: "fp32", backend: "cpu", threads: 1});
        return new TinyChat(model, await model.createEngine({slots: 1, threads: 1}));
    }

    /** What restores and checkpoints are tagged with. */
    get descriptor() {
        return this.replayer.descriptor;
    }

    /** Feeds tokens into the state. */
    async feed(tokens: ArrayLike<number>): Promise<void> {
        await this.replayer.feed(Uint32Array.from(tokens));
    }

    /** Feeds the assistant prompt and generates a greedy reply; returns every token fed, as the turn to log. */
    async reply(): Promise<number[]> {
        const prompt = tokenizer.encode("Assistant:");
        const reply = await generateReply({engine: this.engine, slot: 0, tokenizer, sampling: this.sampling, prompt, maxTokens: replyTokens});
        return [...prompt, ...reply.tokens];
    }

    /** A copy of the state. */
    state(): Promise<Float32Array> {
        return this.engine.exportState(0);
    }

    async dispose(): Promise<void> {
        await this.model.dispose();
    }
}

/** The tokens of user message `n` of the scripted chats. */
export function userTokens(n: number): number[] {
    return tokenizer.encode(`User: message ${n}, about ${["cats", "tea", "rain", "maps", "jazz"][n % 5]}\n\n`);
}

/** Whether two states are equal bit for bit. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
