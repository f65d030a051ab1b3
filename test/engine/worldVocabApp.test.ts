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
    const cutCopy = (): string => {
        const path = join(dir, "vocab-65000.txt");
        writeFileSync(path, cutWorldVocab(65_000));
        return path;
    };

    it("answers with the World vocabulary shipped in vocab/", async () => {
        const app = await startApp(dir, {...world, RWKV_VOCAB: worldVocabPath});
        try {
            expect(await send(app, turnIn("world:1", "hello"))).toMatchObject({kind: "complete"});
        } finally {
            await app.stop();
        }
    });

    it("refuses a 65,000-line copy of it", async () => {
        await expect(startApp(dir, {...world, RWKV_VOCAB: cutCopy()})).rejects.toMatchObject({code: "tokenizer/not_world_vocab"});
    });

    it("answers with that copy when RWKV_VOCAB_CUSTOM=1 says it is meant", async () => {
        const app = await startApp(dir, {...world, RWKV_VOCAB: cutCopy(), RWKV_VOCAB_CUSTOM: "1"});
        try {
            expect(await send(app, turnIn("world:2", "hello"))).toMatchObject({kind: "complete"});
        } finally {
            await app.stop();
        }
    });
});
