import {fileURLToPath} from "node:url";

/** The repository's model fixtures and goldens (`test/fixtures`, copied from the reference implementation's output). */
export const fixturesDir = fileURLToPath(new URL("../fixtures", import.meta.url));

/** The 2-layer model with the real 65536-row World vocabulary (17 MB), and its golden set. */
export const worldModel = {
    name: "world-L2-C64-V65536",
    path: `${fixturesDir}/models/world-L2-C64-V65536.bf16.pth`,
    goldenDir: `${fixturesDir}/golden/world-L2-C64-V65536`,
} as const;
