import {rmSync, writeFileSync} from "node:fs";
import {join} from "node:path";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {worldVocabPath} from "../../src/inference/worldVocab.ts";
import {cutWorldVocab} from "../helpers/cutWorldVocab.ts";
import {worldModel} from "../helpers/fixtures.ts";
import {scratchDir, send, startApp, turnIn} from "./runtimeHelpers.ts";

let dir: string;
beforeAll(() => void (dir = scratchDir()));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

describe("the app on the World fixture model", () => {
    const world = {RWKV_MODEL_PATH: worldModel.path, ENGINE_SLOTS: "1", REPLY_MAX_TOKENS: "4"};

    it("answers with the World vocabulary shipped in vocab/", async () => {
        const app = await startApp(dir, {...world, RWKV_VOCAB: worldVocabPath});
        try {
            expect(await send(app, turnIn("world:1", "hello"))).toMatchObject({kind: "complete"});
        } finally {
            await app.stop();
        }
    });

    it("refuses a 65,000-line copy of it, and answers with it when RWKV_VOCAB_CUSTOM=1 says it is meant", async () => {
        const vocab = join(dir, "vocab-65000.txt");
        writeFileSync(vocab, cutWorldVocab(65_000));
        await expect(startApp(dir, {...world, RWKV_VOCAB: vocab})).rejects.toMatchObject({code: "tokenizer/not_world_vocab"});
        const app = await startApp(dir, {...world, RWKV_VOCAB: vocab, RWKV_VOCAB_CUSTOM: "1"});
        try {
            expect(await send(app, turnIn("world:2", "hello"))).toMatchObject({kind: "complete"});
        } finally {
            await app.stop();
        }
    });
});
