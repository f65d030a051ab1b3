import {execFileSync} from "node:child_process";
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";
import {Sampler} from "../src/inference/Sampler.ts";
import {chatSamplingDefaults} from "../src/inference/SamplingOptions.ts";
import type {SamplingOptions} from "../src/inference/SamplingOptions.ts";
import {randomLogits} from "../test/unit/sampler/randomLogits.ts";
import type {LogitShape} from "../test/unit/sampler/randomLogits.ts";
import type {Bench} from "./Bench.ts";

const vocabSize = 65536;
const drawsPerRun = 50;
const runs = 7;
const shapes: readonly LogitShape[] = ["flat", "peaked"];
const topPs = [0.3, 0.85];
const repoRoot = fileURLToPath(new URL("../", import.meta.url));

type SamplerClass = new (options: SamplingOptions) => {sample(logits: Float32Array): number};

/**
 * `src/inference` as of git revision `rev`, copied to a temporary folder (imports outside it point
 * back at the working tree), so one run can time the sampler before and after a change.
 */
async function samplerAt(rev: string): Promise<{sampler: SamplerClass; dispose(): void} | {missing: string}> {
    let files: string[];
    try {
        const listing = execFileSync("git", ["ls-tree", "--name-only", rev, "src/inference/"], {cwd: repoRoot, encoding: "utf8", stdio: "pipe"});
        files = listing.split("\n").filter((path) => path.endsWith(".ts"));
    } catch (error) {
        return {missing: `git cannot list src/inference at ${rev}: ${(error as Error).message.split("\n")[0]}`};
    }
    const current = readFileSync(join(repoRoot, "src/inference/Sampler.ts"), "utf8");
    const show = (path: string): string => execFileSync("git", ["show", `${rev}:${path}`], {cwd: repoRoot, encoding: "utf8"});
    if (!files.includes("src/inference/Sampler.ts")) return {missing: `${rev} has no src/inference/Sampler.ts`};
    if (show("src/inference/Sampler.ts") === current) return {missing: `Sampler.ts at ${rev} is the working tree's (set SAMPLER_BASELINE to an older revision)`};
    const dir = mkdtempSync(join(tmpdir(), "sampler-baseline-"));
    const srcUrl = pathToFileURL(join(repoRoot, "src/")).href;
    for (const path of files) writeFileSync(join(dir, path.slice("src/inference/".length)), show(path).replaceAll('from "../', `from "${srcUrl}`));
    const module = (await import(pathToFileURL(join(dir, "Sampler.ts")).href)) as {Sampler: SamplerClass};
    return {sampler: module.Sampler, dispose: () => rmSync(dir, {recursive: true, force: true})};
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[sorted.length >> 1] as number;
}

/** Median ms per token of each sampler class on `logits` (chat penalties, so each draw gets a fresh copy), runs interleaved. */
function msPerToken(classes: readonly SamplerClass[], logits: Float32Array, topP: number): number[] {
    const samplers = classes.map((SamplerType) => new SamplerType({...chatSamplingDefaults, topP, temperature: 1, seed: 1}));
    const times = classes.map((): number[] => []);
    for (let run = -1; run < runs; run += 1) {
        samplers.forEach((sampler, i) => {
            const start = performance.now();
            for (let draw = 0; draw < drawsPerRun; draw += 1) sampler.sample(logits.slice());
            if (run >= 0) times[i]?.push((performance.now() - start) / drawsPerRun);
        });
    }
    return times.map(median);
}

export const samplerBench: Bench = {
    name: "sampler",
    summary: "ms per sampled token (65536 logits, chat settings) against the sampler of git revision $SAMPLER_BASELINE (default HEAD)",
    async run() {
        const rev = process.env.SAMPLER_BASELINE ?? "HEAD";
        const baseline = await samplerAt(rev);
        const classes: SamplerClass[] = "sampler" in baseline ? [baseline.sampler, Sampler] : [Sampler];
        console.log(`${vocabSize} logits, temperature 1, chat penalties; median of ${runs} runs of ${drawsPerRun} draws, one core`);
        if ("missing" in baseline) console.log(`no baseline: ${baseline.missing}`);
        else console.log(`baseline: src/inference at ${rev}`);
        console.log("logits  top-p  kept    " + ("sampler" in baseline ? "baseline ms  current ms  speed-up" : "current ms"));
        try {
            for (const shape of shapes) {
                const logits = randomLogits(shape, vocabSize, 1);
                for (const topP of topPs) {
                    const kept = new Sampler({...chatSamplingDefaults, topP, seed: 1}).distribution(logits).ids.length;
                    const ms = msPerToken(classes, logits, topP);
                    const figures = ms.map((value) => value.toFixed(3).padStart(10)).join("  ");
                    const ratio = ms.length === 2 ? `  ${((ms[0] as number) / (ms[1] as number)).toFixed(2)}×` : "";
                    console.log(`${shape.padEnd(6)}  ${String(topP).padEnd(5)}  ${String(kept).padEnd(6)}  ${figures}${ratio}`);
                }
            }
        } finally {
            if ("dispose" in baseline) baseline.dispose();
        }
    },
};
