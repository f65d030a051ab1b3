import {existsSync} from "node:fs";
import {dirname, join, resolve} from "node:path";
import {fileURLToPath} from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The repository's own fixtures (`test/fixtures`). */
export const fixturesDir = join(repoRoot, "test/fixtures");

/** `shared/rwkv` (big fixtures, real vocab): env `RWKV_SHARED_DIR`, else `<repo>/../shared/rwkv`. */
export const sharedRwkvDir = process.env.RWKV_SHARED_DIR ?? resolve(repoRoot, "../shared/rwkv");

/**
 * A file the tests need from outside the repo, or why it is missing. Prints the reason once,
 * so a skipped suite says why.
 */
export function sharedFile(path: string, what: string): {path: string; missing?: undefined} | {path?: undefined; missing: string} {
    if (existsSync(path)) return {path};
    const missing = `${what} not found at ${path} (set RWKV_SHARED_DIR or RWKV_VOCAB): skipping`;
    console.warn(missing);
    return {missing};
}

/** The real World vocabulary: env `RWKV_VOCAB`, else in {@link sharedRwkvDir}. */
export function worldVocab(): ReturnType<typeof sharedFile> {
    return sharedFile(process.env.RWKV_VOCAB ?? join(sharedRwkvDir, "rwkv_vocab_v20230424.txt"), "the World vocabulary");
}
