import {FakeSlack} from "../fakes/FakeSlack.ts";

/** A loopback Slack whose workspace has a member (UALICE, alice) and an admin (UADMIN, boss). */
export async function startSlackTeam(): Promise<FakeSlack> {
    const fake = await FakeSlack.start();
    fake.users.set("UALICE", {name: "alice"});
    fake.users.set("UADMIN", {name: "boss", isAdmin: true});
    return fake;
}

/** A `beforeComplete` hook: holds the reply until the placeholder in `channel` was edited to show some of it. */
export function placeholderEdited(fake: FakeSlack, channel: string): () => Promise<void> {
    return async () => {
        await fake.waitFor(() => fake.callsOf("chat.update").some((call) => call.args.channel === channel && call.args.text !== "_…thinking_"));
    };
}
