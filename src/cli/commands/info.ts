import {engineCapabilities} from "../../inference/engineCapabilities.ts";
import {RwkvModel} from "../../inference/RwkvModel.ts";
import type {CliCommand} from "../CliCommand.ts";
import {precisionFlag, precisionUsage} from "../precisionFlag.ts";
import type {LegacyPrecisionFlag} from "../precisionFlag.ts";

const legacy: LegacyPrecisionFlag = {flag: "fp32", precision: "fp32"};

const usage = `usage: npm run -s cli -- info --model FILE [--precision P] [--json]

Loads the model and prints its dimensions, file dtype, parameter count, state
size, model id, backend and CPU kernel, as "key: value" lines; the weight
bytes are those of the precision it was loaded with.
${precisionUsage("auto", legacy)}
  --json         one JSON object instead of lines`;

/** `info`: what a checkpoint is and what serving it costs. */
export const command: CliCommand = {
    name: "info",
    summary: "print a model's dimensions, dtype, parameters, state size, id and backend",
    usage,
    options: {
        model: {type: "string"},
        precision: {type: "string"},
        fp32: {type: "boolean", default: false},
        json: {type: "boolean", default: false},
    },
    async run(args) {
        const model = await RwkvModel.load(args.requireString("model"), {precision: precisionFlag(args, "auto", legacy)});
        const {info} = model;
        await model.dispose();
        const report = {
            ...info,
            stateFloatsPerLayer: info.stateByteLength / 4 / info.nLayer,
            kernel: engineCapabilities().cpuKernel,
        };
        if (args.flag("json")) {
            console.log(JSON.stringify(report, null, 2));
            return 0;
        }
        const lines: [string, string | number][] = [
            ["path", report.path],
            ["model id", report.modelId],
            ["dims", `n_vocab=${info.nVocab} n_embd=${info.nEmbd} n_layer=${info.nLayer} n_head=${info.nHead} head_size=${info.headSize} dim_att=${info.dimAtt} dim_ffn=${info.dimFfn}`],
            ["file dtype", info.fileDtype],
            ["parameters", info.nParams],
            ["state bytes", info.stateByteLength],
            ["state floats per layer", report.stateFloatsPerLayer],
            ["precision", info.precision],
            ["weight bytes", info.weightBytes],
            ["decode bytes per step", info.decodeBytesPerStep],
            ["memory budget", info.memoryBudget],
            ["backend", info.backend],
            ["kernel", report.kernel],
        ];
        for (const [key, value] of lines) console.log(`${key}: ${value}`);
        return 0;
    },
};
