import {basename} from "node:path";
import type {AdminCommand} from "./AdminCommand.ts";

/**
 * `status`: the model and backend, the queue, the process serving this conversation, its tokens
 * and last checkpoint (with its age), and for admins the engine's figures as `/metrics` has them.
 */
export const statusCommand: AdminCommand = {
    name: "status",
    summary: "status: model, backend, queue depth, the process serving this conversation, its tokens and last checkpoint; for admins the slots and engine tok/s",
    adminOnly: false,
    async run({turn, scheduler, model, instance}) {
        // A held conversation is read at once, even while it generates.
        const live = scheduler.held(turn.conversation) ?? await scheduler.exclusive(turn, async (conversation) => conversation);
        const conversation = {record: live.record, checkpoint: live.lastCheckpoint, format: live.format.name};
        const {record, checkpoint} = conversation;
        const saved = checkpoint === null
            ? "none yet"
            : `after turn ${checkpoint.logSeq}${checkpoint.at === null ? " (found at restore)" : `, ${checkpoint.at.toISOString()} (${age(Date.now() - checkpoint.at.getTime())} ago)`}`;
        const {waitingTurns, busyConversations, residentConversations, slots} = scheduler.load;
        const lines = [
            `model: ${basename(model.path)} (${model.modelId.slice(0, 12)}…, L${model.nLayer} C${model.nEmbd}, ${model.precision}), backend ${model.backend}`,
            `queue: ${waitingTurns} turn(s) waiting for the engine, ${busyConversations} conversation(s) busy`,
            `served by: ${instance}`,
            `this conversation: ${record.tokenCount} tokens in ${record.logLength} turn(s), epoch ${record.epoch}, format ${conversation.format}`,
            `last checkpoint: ${saved}${live.dirty ? "; newer turns are in the log" : ""}`,
        ];
        if (turn.author.isAdmin) {
            lines.push(`engine: ${residentConversations} of ${slots} slot(s) held, ${scheduler.dispatcher.tokensPerSecond.toFixed(1)} tok/s over the last minute`);
        }
        return {text: lines.join("\n")};
    },
};

function age(ms: number): string {
    const seconds = Math.max(0, Math.round(ms / 1000));
    if (seconds < 120) return `${seconds} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    return `${Math.round(seconds / 3600)} h`;
}
