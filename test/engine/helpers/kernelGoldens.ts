// Run in a child process with RWKV5_CPU_KERNEL set (the engine picks its kernel table once per
// process): the golden comparisons of both fixture shapes, decode (one token a step) and prefill
// (every token in one step), at each precision. Prints one JSON line for the parent.
import {engineCapabilities} from "../../../src/inference/engineCapabilities.ts";
import {RwkvModel} from "../../../src/inference/RwkvModel.ts";
import {golden, goldenFloats, maxAbsDiff, modelPath, stateDiff} from "../engineFixtures.ts";

/** The largest deviations from the goldens of one precision, over both fixtures and both modes. */
export interface KernelDeviation {
    readonly precision: "fp32" | "16bit" | "int8";
    readonly logits: number;
    readonly shift: number;
    readonly wkv: number;
}

const cases = [
    {set: "tiny-L3-C128-V1024", file: "tiny-L3-C128-V1024.fp32.pth"},
    {set: "deep-L7-C64-V512", file: "deep-L7-C64-V512.bf16.pth"},
];

const deviations: KernelDeviation[] = [];
for (const precision of ["fp32", "16bit", "int8"] as const) {
    let logits = 0;
    let shift = 0;
    let wkv = 0;
    for (const {set: name, file} of cases) {
        const set = golden(name);
        const model = await RwkvModel.load(modelPath(file), {precision, backend: "cpu", threads: 2});
        const engine = await model.createEngine({slots: 1});
        const expectedLogits = goldenFloats(set, "logits_seq.f32");
        const expectedState = goldenFloats(set, "state_final.f32");
        const nVocab = engine.info.nVocab;
        const decoded = new Float32Array(set.tokens.length * nVocab);
        for (const [t, token] of set.tokens.entries()) {
            const [output] = await engine.step([{slot: 0, tokens: [token]}]);
            decoded.set(output!.logits!, t * nVocab);
        }
        const afterDecode = stateDiff(set, await engine.exportState(0), expectedState);
        await engine.importState(0, null);
        const [prefill] = await engine.step([{slot: 0, tokens: set.tokens, logits: "all"}]);
        const afterPrefill = stateDiff(set, await engine.exportState(0), expectedState);
        logits = Math.max(logits, maxAbsDiff(decoded, goldenFloats(set, "logits_rnn.f32")), maxAbsDiff(prefill!.logits!, expectedLogits));
        shift = Math.max(shift, afterDecode.shift, afterPrefill.shift);
        wkv = Math.max(wkv, afterDecode.wkv, afterPrefill.wkv);
        await engine.dispose();
        await model.dispose();
    }
    deviations.push({precision, logits, shift, wkv});
}
console.log(JSON.stringify({kernel: engineCapabilities().cpuKernel, deviations}));
