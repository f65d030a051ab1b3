import {spawn} from "node:child_process";

/** What a finished child process left: its exit code and everything it printed. */
export interface ProcessResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs `command args` to completion with `stdin` piped in, collecting its output. */
export function runProcess(
    command: string,
    args: readonly string[],
    options: {cwd: string; env?: NodeJS.ProcessEnv; stdin?: string},
): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, {cwd: options.cwd, ...(options.env === undefined ? {} : {env: options.env})});
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        child.on("error", reject);
        child.on("close", (code) => resolve({code, stdout, stderr}));
        child.stdin.end(options.stdin ?? "");
    });
}
