/** What the parent sends the bot of `ipcAppChild.ts`. */
export type ParentCommand =
    | {readonly type: "turn"; readonly id: string; readonly conversation: string; readonly text: string}
    | {readonly type: "transcript"; readonly conversation: string}
    | {readonly type: "stop"};

/** What the bot of `ipcAppChild.ts` reports: readiness, every sink call, transcripts asked for. */
export type ChildEvent =
    | {readonly type: "ready"}
    | {readonly type: "update" | "complete" | "fail"; readonly id: string; readonly text: string}
    | {readonly type: "transcript"; readonly conversation: string; readonly turns: readonly {role: string; text: string}[]};
