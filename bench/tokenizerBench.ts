import {StreamingDecoder} from "../src/inference/StreamingDecoder.ts";
import {Tokenizer} from "../src/inference/Tokenizer.ts";
import {worldVocabPath} from "../src/inference/worldVocab.ts";
import type {Bench} from "./Bench.ts";

// The aim: tokenizing must not matter next to a forward pass.
const encodeAimMBps = 20;
const corpusBytes = 8 * 1024 * 1024;
const runs = 5;

/** Mixed text of chat traffic: English, code, CJK, emoji (with ZWJ sequences), Cyrillic. */
const corpusParts = [
    "The quick brown fox jumps over the lazy dog. Please keep it short, and answer in full details when asked! ",
    "def handler(event, context):\n    for item in event.get('items', []):\n        if item['id'] % 2 == 0:\n            yield {\"ok\": True}\n",
    "你好，请问今天天气怎么样？今天是晴天，气温大约二十五度。こんにちは、元気ですか？안녕하세요, 반갑습니다. ",
    "I love 🍕 and 🍣! 😀😃😄 👨‍👩‍👧‍👦 🇯🇵 👍🏽 ",
    "Привет, мир! Как дела? <@123456789012345678> check https://example.com/a?b=c&d=e #general\n\n",
];

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[sorted.length >> 1] as number;
}

/** Median seconds of `runs` calls of `run`, after one untimed warm-up. */
function medianSeconds(run: () => void): number {
    run();
    const seconds: number[] = [];
    for (let i = 0; i < runs; i += 1) {
        const start = performance.now();
        run();
        seconds.push((performance.now() - start) / 1000);
    }
    return median(seconds);
}

export const tokenizerBench: Bench = {
    name: "tokenizer",
    summary: "World tokenizer encode/decode throughput on mixed text (one core); sampling is the sampler bench",
    async run() {
        const path = process.env.RWKV_VOCAB ?? worldVocabPath;
        const loadStart = performance.now();
        const tokenizer = await Tokenizer.load(path);
        const loadMs = performance.now() - loadStart;

        let corpus = "";
        for (let i = 0; corpus.length < corpusBytes / 2; i += 1) corpus += corpusParts[i % corpusParts.length];
        const bytes = new TextEncoder().encode(corpus);
        const megabytes = bytes.length / 1e6;
        const ids = tokenizer.encodeBytes(bytes);

        const utf8Seconds = medianSeconds(() => new TextEncoder().encode(corpus));
        const encodeSeconds = medianSeconds(() => tokenizer.encode(corpus));
        const decodeSeconds = medianSeconds(() => tokenizer.decode(ids));
        const streamSeconds = medianSeconds(() => {
            const decoder = new StreamingDecoder(tokenizer);
            for (const id of ids) decoder.push(id);
            decoder.flush();
        });

        const encodeMBps = megabytes / encodeSeconds;
        console.log(`vocab: ${path} (${tokenizer.vocabSize} ids, loaded and validated in ${loadMs.toFixed(0)} ms)`);
        console.log(`corpus: ${megabytes.toFixed(1)} MB mixed text, ${ids.length} tokens (${(bytes.length / ids.length).toFixed(2)} bytes/token); median of ${runs}`);
        console.log(`encode:            ${encodeMBps.toFixed(1)} MB/s  = ${(encodeMBps / encodeAimMBps).toFixed(2)}× the ${encodeAimMBps} MB/s aim, ${((utf8Seconds / encodeSeconds) * 100).toFixed(0)}% of TextEncoder's UTF-8 speed (${(megabytes / utf8Seconds).toFixed(0)} MB/s) measured alongside`);
        console.log(`decode:            ${(megabytes / decodeSeconds).toFixed(1)} MB/s`);
        console.log(`streaming decode:  ${(megabytes / streamSeconds).toFixed(1)} MB/s (${((streamSeconds / ids.length) * 1e9).toFixed(0)} ns/token)`);
    },
};
