import type {LoggedTurn} from "./StateStore.ts";

/**
 * A transcript as one JSONL line `{"text": …}` in the model's training format
 * `<s>User:…\n\n</s>Assistant:…\n\n</s>` (docs/rwkv5.md §10). System turns (priming)
 * are not part of what the model should learn; an empty transcript gives "".
 */
export function toFineTuneJsonl(turns: readonly Pick<LoggedTurn, "role" | "text">[]): string {
    const parts = turns.filter((turn) => turn.role !== "system").map((turn) => `${turn.role === "user" ? "User" : "Assistant"}:${turn.text}\n\n</s>`);
    return parts.length === 0 ? "" : JSON.stringify({text: "<s>" + parts.join("")}) + "\n";
}
