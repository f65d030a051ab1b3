import {describe, expect, it} from "vitest";
import {checkpointDue, defaultCheckpointPolicy} from "../../../src/store/checkpointDue.ts";
import {decodeExportFile, encodeExportFile} from "../../../src/store/exportFile.ts";
import {encodeSnapshot} from "../../../src/store/snapshotCodec.ts";
import {toFineTuneJsonl} from "../../../src/store/toFineTuneJsonl.ts";

describe("checkpointDue", () => {
    const policy = {everyTokens: 100, quietMs: 1000};
    it("is due after N tokens, or after T ms of quiet with anything unsaved", () => {
        expect(checkpointDue(policy, 100, 0)).toBe("tokens");
        expect(checkpointDue(policy, 5, 1000)).toBe("quiet");
        expect(checkpointDue(policy, 5, 999)).toBeNull();
        expect(checkpointDue(policy, 0, 10_000)).toBeNull();
    });
    it("defaults to the README's policy: every 2048 logged tokens, or after a minute of quiet", () => {
        expect(defaultCheckpointPolicy).toEqual({everyTokens: 2048, quietMs: 60_000});
    });
});

describe("toFineTuneJsonl", () => {
    it("writes the transcript in the model's training format, without system turns", () => {
        const line = toFineTuneJsonl([
            {role: "system", text: "persona"},
            {role: "user", text: "hi"}, {role: "assistant", text: "Hello!"},
            {role: "user", text: "2+2?"}, {role: "assistant", text: "4"},
        ]);
        expect(line.endsWith("\n")).toBe(true);
        expect(JSON.parse(line)).toEqual({text: "<s>User:hi\n\n</s>Assistant:Hello!\n\n</s>User:2+2?\n\n</s>Assistant:4\n\n</s>"});
        expect(toFineTuneJsonl([])).toBe("");
    });
});

describe("exportFile", () => {
    const descriptor = {modelId: "m".repeat(64), nLayer: 1, nEmbd: 4, nHead: 1, headSize: 2};
    const manifest = {
        key: "discord:1", exportedAt: "2026-01-01T00:00:00.000Z", stateLogSeq: 1,
        settings: {platform: "discord", platformIds: {}, chatFormat: "world-chat", sampling: {}, persona: null},
        transcript: [{role: "user" as const, text: "hi", tokens: [1, 2], createdAt: "2026-01-01T00:00:00.000Z"}],
    };
    const state = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

    it("round-trips manifest and state", () => {
        const decoded = decodeExportFile(encodeExportFile(manifest, encodeSnapshot(state, descriptor)), descriptor);
        if (!decoded.ok) throw new Error(decoded.message);
        expect(decoded.contents.manifest).toEqual(manifest);
        expect([...decoded.contents.state]).toEqual([...state]);
    });

    it("refuses truncated, extended, corrupted and inconsistent files", () => {
        const file = encodeExportFile(manifest, encodeSnapshot(state, descriptor));
        const message = (bytes: Uint8Array) => {
            const r = decodeExportFile(bytes, descriptor);
            return r.ok ? "ok" : r.message;
        };
        expect(message(file.subarray(0, 20))).toMatch(/truncated/);
        expect(message(file.subarray(0, file.length - 1))).toMatch(/truncated/);
        expect(message(Buffer.concat([file, Buffer.from([0])]))).toMatch(/trailing/);
        const corrupt = Buffer.from(file);
        corrupt[30]! ^= 1;
        expect(message(corrupt)).toMatch(/checksum/);
        expect(message(encodeExportFile({...manifest, stateLogSeq: 5}, encodeSnapshot(state, descriptor)))).toMatch(/inconsistent/);
    });

    it("refuses intact files whose manifest the log cannot take, instead of throwing or importing it", () => {
        const withManifest = (m: unknown) => {
            const r = decodeExportFile(encodeExportFile(m as typeof manifest, encodeSnapshot(state, descriptor)), descriptor);
            return r.ok ? "ok" : r.message;
        };
        const turn = manifest.transcript[0]!;
        const bad: unknown[] = [
            null, [], {...manifest, settings: null}, {...manifest, transcript: "hi"},
            {...manifest, stateLogSeq: -1}, {...manifest, stateLogSeq: 0.5}, {...manifest, stateLogSeq: "1"},
            {...manifest, transcript: [null]}, {...manifest, transcript: [{...turn, role: "bot"}]},
            {...manifest, transcript: [{...turn, tokens: [1, -1]}]}, {...manifest, transcript: [{...turn, tokens: [2 ** 31]}]},
            {...manifest, transcript: [{...turn, tokens: ["1"]}]}, {...manifest, transcript: [{...turn, createdAt: "yesterday"}]},
        ];
        for (const m of bad) expect(withManifest(m), JSON.stringify(m)).toMatch(/manifest is malformed/);
        expect(withManifest({...manifest, stateLogSeq: 0})).toBe("ok");
    });
});
