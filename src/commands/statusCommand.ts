import {basename} from "node:path";
import type {AdminCommand} from "./AdminCommand.ts";

/** `status`: the model and backend, the queue, the process serving this conversation, its token count and last checkpoint. */
export const statusCommand: AdminCommand = {
    name: "status",
    summary: "status: model, backend, queue depth, the process serving this conversation, its tokens and last checkpoint",
    adminOnly: false,
    async run({turn, scheduler, model, instance}) {
        // A held conversation is read at once, even while it generates.
        const live = scheduler.held(turn.conversation) ?? await scheduler.exclusive(turn, async (conversation) => conversation);
        const conversation = {record: live.record, checkpoint: live.lastCheckpoint, format: live.format.name};
        const {waitingTurns, busyConversations} = scheduler.queueDepth;
        const {record, checkpoint} = conversation;
        const saved = checkpoint === null
            ? "none yet"
            : `after turn ${checkpoint.logSeq}${checkpoint.at === null ? " (found at restore)" : `, ${checkpoint.at.toISOString()}`}`;
        return {text: [
            `model: ${basename(model.path)} (${model.modelId.slice(0, 12)}…, L${model.nLayer} C${model.nEmbd}, ${model.precision}), backend ${model.backend}`,
            `queue: ${waitingTurns} turn(s) waiting for the engine, ${busyConversations} conversation(s) busy`,
            `served by: ${instance}`,
            `this conversation: ${record.tokenCount} tokens in ${record.logLength} turn(s), epoch ${record.epoch}, format ${conversation.format}`,
            `last checkpoint: ${saved}`,
        ].join("\n")};
    },
};
