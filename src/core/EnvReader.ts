/** Bytes per unit of {@link EnvReader.byteSize} (`kB` is read as `KB`). */
const byteUnits: Readonly<Record<string, number>> = {
    B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40,
};

/** The process environment, or any map of variables like it. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values from an {@link Env}, collecting one sentence per bad value instead of
 * throwing, so a start-up can list every problem at once. An empty value counts as unset.
 */
export class EnvReader {
    /** Every problem found so far, in reading order. */
    readonly problems: string[] = [];
    readonly #env: Env;

    constructor(env: Env) {
        this.#env = env;
    }

    /** The trimmed value, or undefined when unset or empty. */
    string(name: string): string | undefined {
        const value = this.#env[name]?.trim();
        return value === undefined || value === "" ? undefined : value;
    }

    /** A value that must be set; records a problem (with `why`) when it is not. */
    required(name: string, why: string): string | undefined {
        const value = this.string(name);
        if (value === undefined) this.problems.push(`${name} is required: ${why}`);
        return value;
    }

    /** An integer in `[min, max]`; `fallback` when unset (and when invalid, after recording the problem). */
    integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
        const text = this.string(name);
        if (text === undefined) return fallback;
        const value = Number(text);
        if (!Number.isInteger(value) || value < min || value > max) {
            // No upper bound but the language's own: say "at least" rather than print 2^53 - 1.
            const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
            this.problems.push(`${name} must be an integer ${range}, got "${text}"`);
            return fallback;
        }
        return value;
    }

    /** A finite number, or undefined when unset (or invalid, after recording the problem). */
    number(name: string): number | undefined {
        const text = this.string(name);
        if (text === undefined) return undefined;
        const value = Number(text);
        if (!Number.isFinite(value)) {
            this.problems.push(`${name} must be a number, got "${text}"`);
            return undefined;
        }
        return value;
    }

    /**
     * A size in bytes: a number with an optional unit, decimal (`kB`, `MB`, `GB`, `TB`) or binary
     * (`KiB`, `MiB`, `GiB`, `TiB`), e.g. `14GB`, `12.5 GiB`, `900MB`; undefined when unset (or
     * invalid, after recording the problem).
     */
    byteSize(name: string): number | undefined {
        const text = this.string(name);
        if (text === undefined) return undefined;
        const match = /^(\d+(?:\.\d+)?)\s*([kKMGT]i?B|B)?$/.exec(text);
        const unit = match?.[2] ?? "B";
        const factor = byteUnits[unit.replace(/^k/, "K")];
        if (match === null || factor === undefined) {
            this.problems.push(`${name} must be a size such as 14GB, 12.5GiB or 900MB, got "${text}"`);
            return undefined;
        }
        return Math.round(Number(match[1]) * factor);
    }

    /** One of `choices`; `fallback` when unset or invalid. */
    oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
        const text = this.string(name);
        if (text === undefined) return fallback;
        if (!(choices as readonly string[]).includes(text)) {
            this.problems.push(`${name} must be one of ${choices.join(", ")}, got "${text}"`);
            return fallback;
        }
        return text as T;
    }

    /** `1/true/yes/on` or `0/false/no/off` (any case); `fallback` when unset or invalid. */
    boolean(name: string, fallback: boolean): boolean {
        const text = this.string(name)?.toLowerCase();
        if (text === undefined) return fallback;
        if (["1", "true", "yes", "on"].includes(text)) return true;
        if (["0", "false", "no", "off"].includes(text)) return false;
        this.problems.push(`${name} must be true or false (1/0), got "${text}"`);
        return fallback;
    }

    /** A URL with one of `protocols` (e.g. `["redis:", "rediss:"]`), or undefined when unset or invalid. */
    url(name: string, protocols: readonly string[]): string | undefined {
        const text = this.string(name);
        if (text === undefined) return undefined;
        let protocol: string;
        try {
            protocol = new URL(text).protocol;
        } catch {
            // The value may hold a password: never echo it.
            this.problems.push(`${name} is not a valid URL`);
            return undefined;
        }
        if (!protocols.includes(protocol)) {
            this.problems.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(" or ")}`);
            return undefined;
        }
        return text;
    }
}
