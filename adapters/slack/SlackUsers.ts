import type {webApi} from "@slack/bolt";
import type {TurnAuthor} from "../../src/core/Turn.ts";

/** The part of `users.info` the bot calls. */
export type UsersInfo = (args: {user: string}) => Promise<webApi.UsersInfoResponse>;

/**
 * Resolves Slack users into turn authors. Slack payloads carry no roles, so admins are the
 * workspace admins and owners by `users.info`, plus the configured allow-list. A role counts
 * only for a full member of the event's own workspace: in a Slack Connect channel an external
 * user's `is_admin` is about their own organisation. Answers are cached briefly: a demoted
 * admin loses the right within `ttlMs`.
 */
export class SlackUsers {
    readonly #cache = new Map<string, {author: TurnAuthor; at: number}>();

    constructor(
        private readonly adminUserIds: ReadonlySet<string>,
        private readonly onError: (error: unknown) => void,
        private readonly ttlMs = 60_000,
        private readonly now: () => number = Date.now,
    ) {}

    /**
     * The author for `userId` writing in workspace `teamId` (the one the event was delivered
     * for); a failed lookup yields a non-admin (unless allow-listed), uncached.
     */
    async author(usersInfo: UsersInfo, teamId: string, userId: string): Promise<TurnAuthor> {
        const key = `${teamId}:${userId}`;
        const cached = this.#cache.get(key);
        if (cached !== undefined && this.now() - cached.at < this.ttlMs) return cached.author;
        const allowListed = this.adminUserIds.has(userId);
        try {
            const {user} = await usersInfo({user: userId});
            const name = user?.profile?.display_name || user?.real_name || user?.name || userId;
            const member = user !== undefined && teamId !== "" && user.team_id === teamId
                && user.is_stranger !== true && user.is_restricted !== true && user.is_ultra_restricted !== true;
            const isAdmin = allowListed || (member && (user.is_admin === true || user.is_owner === true || user.is_primary_owner === true));
            const author = {id: userId, name, isAdmin};
            if (this.#cache.size >= 10_000) this.#cache.clear();
            this.#cache.set(key, {author, at: this.now()});
            return author;
        } catch (error) {
            this.onError(error);
            return {id: userId, name: userId, isAdmin: allowListed};
        }
    }
}
