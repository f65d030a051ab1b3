import {fileURLToPath} from "node:url";
import {runProcess, type ProcessResult} from "./runProcess.ts";

const repo = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `npm run -s cli -- ...args` as a user would (through tsx), feeding `stdin`. */
export function runCli(args: readonly string[], stdin = ""): Promise<ProcessResult> {
    return runProcess("npx", ["tsx", "src/cli/main.ts", ...args], {cwd: repo, stdin});
}
