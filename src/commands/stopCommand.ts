import type {AdminCommand} from "./AdminCommand.ts";

/** `stop`: aborts the reply in progress (and the queued ones) here; nothing of them is kept. */
export const stopCommand: AdminCommand = {
    name: "stop",
    summary: "stop: abort the replies in progress here",
    adminOnly: true,
    async run({turn, scheduler}) {
        const count = scheduler.stop(turn.conversation);
        return {text: count === 0 ? "Nothing to stop." : `Stopped ${count} reply(ies).`};
    },
};
