/** Small measuring helpers shared by the engine benchmarks. */

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function randomTokens(count: number, nVocab: number): number[] {
    return Array.from({length: count}, () => Math.floor(Math.random() * nVocab));
}

export async function seconds(run: () => Promise<unknown>): Promise<number> {
    const start = performance.now();
    await run();
    return (performance.now() - start) / 1000;
}
