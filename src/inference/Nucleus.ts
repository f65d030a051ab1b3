// Buckets of float32 exp(logit - max) by bits >>> 16 (exponent and 7 mantissa bits: 128 per octave).
// The exponentials are in [0, 1], below 2^15 buckets; the mask keeps a NaN row (all ids banned,
// or a non-finite logit) in range too.
const bucketCount = 1 << 15;
const bucketShift = 16;
// Radix digits of at most 12 bits: two passes sort any kept set within a factor 4 of the top probability.
const maxDigitBits = 12;
// Below this many candidates an insertion sort beats the radix passes' counter sweeps.
const insertionSortLimit = 48;

/**
 * The ids upstream's `sample_logits` keeps (docs/rwkv5.md §9 steps 2–4: float32 softmax, the top-p
 * cut with upstream's float32 running sum, ties with the cutoff kept, then top-k), by probability
 * descending, ties by id, in buffers reused from row to row.
 *
 * Upstream sorts the whole vocabulary; here the probability mass per bucket of exponentials picks
 * a floor the cut should lie above, only the ids above that floor are sorted (a stable radix
 * sort), and the floor is lowered in the rare case float32 rounding puts the cut below it. The
 * candidates are always every id at or above some probability, so their sorted order is a prefix
 * of upstream's and the cut is exactly upstream's.
 */
export class Nucleus {
    /** The kept ids of the last {@link Nucleus.select}, in its first `count` entries. */
    ids = new Int32Array(0);
    /** Their float32 probabilities, in the same order. */
    probs = new Float32Array(0);
    #bits = new Uint32Array(0);
    #spareIds = new Int32Array(0);
    #spareProbs = new Float32Array(0);
    #spareBits = new Uint32Array(0);
    #exps = new Float32Array(0);
    #expBits = new Uint32Array(0);
    readonly #mass = new Float64Array(bucketCount);
    readonly #digitCounts = new Uint32Array(1 << maxDigitBits);
    readonly #floatOfBits = new Float32Array(1);
    readonly #bitsOfFloat = new Uint32Array(this.#floatOfBits.buffer);

    /**
     * Softmax of `logits` (as upstream's `F.softmax(logits.float())`), cut at `topP` then `topK`
     * (`0` = no top-k). Returns how many ids are kept; they are the first entries of
     * {@link Nucleus.ids} and {@link Nucleus.probs}.
     */
    select(logits: Float32Array, topP: number, topK: number): number {
        this.#fit(logits.length);
        const sum = this.#exponentiate(logits);
        const topP32 = Math.fround(topP);
        let bucket = this.#floorBucket(topP32 * sum);
        for (;;) {
            const candidates = this.#gather(bucket, sum);
            this.#sort(candidates);
            const kept = this.#cut(candidates, topP32);
            if (kept > 0 || bucket === 0) {
                // Rounding can keep the float32 sum of everything just under a top-p near 1:
                // upstream then falls back to its first index (greedy), which is surely unintended; keep all.
                const count = kept > 0 ? kept : candidates;
                return topK > 0 && topK < count ? topK : count;
            }
            do bucket -= 1;
            while (bucket > 0 && this.#mass[bucket] === 0);
        }
    }

    #fit(size: number): void {
        if (this.#exps.length === size) return;
        this.#exps = new Float32Array(size);
        this.#expBits = new Uint32Array(this.#exps.buffer);
        this.ids = new Int32Array(size);
        this.probs = new Float32Array(size);
        this.#bits = new Uint32Array(this.probs.buffer);
        this.#spareIds = new Int32Array(size);
        this.#spareProbs = new Float32Array(size);
        this.#spareBits = new Uint32Array(this.#spareProbs.buffer);
    }

    /**
     * Stores every float32 `exp(logit - max)` and adds it to the mass of its bucket; returns their
     * sum, which (like the earlier full softmax) adds the unrounded exponentials in id order.
     */
    #exponentiate(logits: Float32Array): number {
        let max = logits[0] as number;
        for (let i = 1; i < logits.length; i += 1) {
            if ((logits[i] as number) > max) max = logits[i] as number;
        }
        const exps = this.#exps;
        const expBits = this.#expBits;
        const mass = this.#mass;
        mass.fill(0);
        let sum = 0;
        for (let i = 0; i < logits.length; i += 1) {
            const e = Math.exp((logits[i] as number) - max);
            exps[i] = e;
            sum += e;
            const bucket = ((expBits[i] as number) >>> bucketShift) & (bucketCount - 1);
            mass[bucket] = (mass[bucket] as number) + e;
        }
        return sum;
    }

    /** The highest non-empty bucket whose mass and the mass above it reach `target`; 0 (everything) if none does. */
    #floorBucket(target: number): number {
        const mass = this.#mass;
        let total = 0;
        for (let bucket = bucketCount - 1; bucket > 0; bucket -= 1) {
            const m = mass[bucket] as number;
            total += m;
            if (m > 0 && total >= target) return bucket;
        }
        return 0;
    }

    /**
     * Collects, in id order, every id whose probability is at least that of the lowest float32
     * exponential of `bucket` (all ids for bucket 0) with its probability; returns how many.
     */
    #gather(bucket: number, sum: number): number {
        const exps = this.#exps;
        const ids = this.ids;
        const probs = this.probs;
        let count = 0;
        if (bucket === 0) {
            for (let i = 0; i < exps.length; i += 1) {
                ids[i] = i;
                probs[i] = (exps[i] as number) / sum;
            }
            return exps.length;
        }
        this.#bitsOfFloat[0] = bucket << bucketShift;
        const lowest = this.#floatOfBits[0] as number;
        // Rounding is monotonic, so every exponential in the bucket or above gets a probability ≥ floor.
        const floor = Math.fround(lowest / sum);
        // Float32 rounds normal numbers within 2^-24 of their value, so an exponential 2^-20 below the
        // bucket cannot reach floor: most ids are passed over without a division.
        const hopeless = floor >= 2 ** -100 ? lowest * (1 - 2 ** -20) : 0;
        for (let i = 0; i < exps.length; i += 1) {
            const e = exps[i] as number;
            if (e < hopeless) continue;
            const p = Math.fround(e / sum);
            if (p >= floor) {
                ids[count] = i;
                probs[count] = p;
                count += 1;
            }
        }
        return count;
    }

    /** Sorts the first `count` candidates by probability, descending, keeping id order among ties. */
    #sort(count: number): void {
        if (count <= insertionSortLimit) {
            this.#insertionSort(count);
            return;
        }
        const bits = this.#bits;
        let top = 0;
        let bottom = 0xffffffff;
        for (let i = 0; i < count; i += 1) {
            const b = bits[i] as number;
            if (b > top) top = b;
            if (b < bottom) bottom = b;
        }
        // Non-negative floats order as their bits; sorting top - bits ascending puts the most probable first.
        const keyBits = 32 - Math.clz32(top - bottom);
        if (keyBits === 0) return;
        const passes = Math.ceil(keyBits / maxDigitBits);
        const digitBits = Math.ceil(keyBits / passes);
        for (let shift = 0; shift < keyBits; shift += digitBits) this.#radixPass(count, top, shift, digitBits);
    }

    #insertionSort(count: number): void {
        const ids = this.ids;
        const probs = this.probs;
        const bits = this.#bits;
        for (let i = 1; i < count; i += 1) {
            const id = ids[i] as number;
            const p = probs[i] as number;
            const b = bits[i] as number;
            let j = i - 1;
            for (; j >= 0 && (bits[j] as number) < b; j -= 1) {
                ids[j + 1] = ids[j] as number;
                probs[j + 1] = probs[j] as number;
            }
            ids[j + 1] = id;
            probs[j + 1] = p;
        }
    }

    /** One stable counting-sort pass on digit `(top - bits) >>> shift` into the spare buffers, then swaps them in. */
    #radixPass(count: number, top: number, shift: number, digitBits: number): void {
        const mask = (1 << digitBits) - 1;
        const counts = this.#digitCounts;
        counts.fill(0, 0, mask + 1);
        const bits = this.#bits;
        for (let i = 0; i < count; i += 1) {
            const digit = ((top - (bits[i] as number)) >>> shift) & mask;
            counts[digit] = (counts[digit] as number) + 1;
        }
        let start = 0;
        for (let digit = 0; digit <= mask; digit += 1) {
            const n = counts[digit] as number;
            counts[digit] = start;
            start += n;
        }
        const ids = this.ids;
        const spareIds = this.#spareIds;
        const spareBits = this.#spareBits;
        for (let i = 0; i < count; i += 1) {
            const b = bits[i] as number;
            const digit = ((top - b) >>> shift) & mask;
            const to = counts[digit] as number;
            counts[digit] = to + 1;
            spareIds[to] = ids[i] as number;
            spareBits[to] = b;
        }
        const probs = this.probs;
        this.ids = spareIds;
        this.#spareIds = ids;
        this.probs = this.#spareProbs;
        this.#spareProbs = probs;
        this.#bits = spareBits;
        this.#spareBits = bits;
    }

    /**
     * Upstream's cut on the sorted candidates: the cutoff is the first probability whose float32
     * running sum reaches `topP32`; every id at least as probable is kept. Returns how many are kept,
     * 0 when the candidates' sum never reaches it.
     */
    #cut(count: number, topP32: number): number {
        const probs = this.probs;
        const bits = this.#bits;
        let cumulative = 0;
        for (let i = 0; i < count; i += 1) {
            cumulative = Math.fround(cumulative + (probs[i] as number));
            if (cumulative >= topP32) {
                let kept = i + 1;
                while (kept < count && bits[kept] === bits[i]) kept += 1;
                return kept;
            }
        }
        return 0;
    }
}
