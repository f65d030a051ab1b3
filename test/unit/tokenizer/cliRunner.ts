import {spawn} from "node:child_process";
import {fileURLToPath} from "node:url";

const repo = fileURLToPath(new URL("../../..", import.meta.url));

/** Runs `npm run -s cli -- ...args` as a user would (through tsx), feeding `stdin`. */
export function runCli(args: readonly string[], stdin = ""): Promise<{code: number | null; stdout: string; stderr: string}> {
    return new Promise((resolve, reject) => {
        const child = spawn("npx", ["tsx", "src/cli/main.ts", ...args], {cwd: repo});
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        child.on("error", reject);
        child.on("close", (code) => resolve({code, stdout, stderr}));
        child.stdin.end(stdin);
    });
}
