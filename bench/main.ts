import {loadEnvFile} from "../src/config/loadEnvFile.ts";
import type {Bench} from "./Bench.ts";
import {clusterBench} from "./clusterBench.ts";
import {engine12bBench} from "./engine12bBench.ts";
import {engineBench} from "./engineBench.ts";
import {metricsBench} from "./metricsBench.ts";
import {runtimeBench} from "./runtimeBench.ts";
import {samplerBench} from "./samplerBench.ts";
import {storeBench} from "./storeBench.ts";
import {tokenizerBench} from "./tokenizerBench.ts";

/** Every benchmark, in the order a plain `npm run bench` runs them; engine12b only when named (it writes ~23 GB once). */
const benches: readonly Bench[] = [engineBench, tokenizerBench, samplerBench, storeBench, runtimeBench, metricsBench, clusterBench, engine12bBench];
const onlyNamed = new Set<Bench>([engine12bBench]);

loadEnvFile();
const names = process.argv.slice(2);
const unknown = names.filter((name) => !benches.some((bench) => bench.name === name));
if (unknown.length > 0) {
    console.error(`error: unknown bench ${unknown.join(", ")}; known: ${benches.map((bench) => `${bench.name} (${bench.summary})`).join(", ")}`);
    process.exitCode = 2;
} else {
    for (const bench of benches.filter((candidate) => names.length === 0 ? !onlyNamed.has(candidate) : names.includes(candidate.name))) {
        console.log(`== ${bench.name}: ${bench.summary}`);
        await bench.run();
    }
}
