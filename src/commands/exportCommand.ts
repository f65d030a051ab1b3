import {toFineTuneJsonl} from "../store/toFineTuneJsonl.ts";
import type {AdminCommand} from "./AdminCommand.ts";

/**
 * `export [FILE]`: the conversation as one portable file (state + transcript), checkpointed
 * first. `export jsonl [FILE]`: its transcript since the last reset in the training format, for
 * fine-tuning.
 */
export const exportCommand: AdminCommand = {
    name: "export",
    summary: "export [jsonl] [FILE]: save this conversation (state and transcript) as a file, or with jsonl its transcript as fine-tuning JSONL",
    adminOnly: true,
    async run({turn, args, scheduler}) {
        const base = turn.conversation.replace(/[^\w.-]+/g, "_");
        const jsonl = /^jsonl(?:\s+([\s\S]+))?$/i.exec(args);
        if (jsonl !== null) {
            const turns = await scheduler.exclusive(turn, (conversation) => conversation.transcript());
            const text = toFineTuneJsonl(turns);
            if (text === "") return {text: "Nothing to export yet: this conversation has no exchanges since its last reset."};
            const exchanges = turns.filter((logged) => logged.role === "user").length;
            return {text: `Exported ${exchanges} exchange(s) as fine-tuning JSONL.`, file: {name: jsonl[1]?.trim() ?? `${base}.jsonl`, bytes: Buffer.from(text)}};
        }
        const bytes = await scheduler.exclusive(turn, async (conversation, slot) => {
            await conversation.checkpoint(slot, "export");
            return conversation.exportFile();
        });
        return {text: `Exported ${bytes.byteLength} bytes.`, file: {name: args === "" ? `${base}.rwkvconv` : args, bytes}};
    },
};
