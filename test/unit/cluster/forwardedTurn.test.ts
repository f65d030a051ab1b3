import {describe, expect, it} from "vitest";
import {canTravel, decodeTurn, encodeTurn} from "../../../src/cluster/forwardedTurn.ts";
import {conversationKey} from "../../../src/core/Turn.ts";
import type {Turn} from "../../../src/core/Turn.ts";

const signal = new AbortController().signal;
const turn = {
    id: "Ev1", platform: "slack", conversation: conversationKey("slack:T1:C1:10.1"), parent: conversationKey("slack:T1:C1"),
    platformIds: {team: "T1", channel: "C1", thread: "10.1"}, author: {id: "U1", name: "alice", isAdmin: true},
    text: "hi", command: {name: "status", args: ""}, receivedAt: 1234, replyAddress: {channel: "C1", thread: "10.1"}, signal,
} satisfies Turn;

describe("a turn forwarded between processes", () => {
    it("arrives as it left, with a signal of the receiver's and its hop count", () => {
        const mine = new AbortController().signal;
        expect(decodeTurn(encodeTurn(turn, 2), mine)).toEqual({turn: {...turn, signal: mine}, hops: 2});
    });

    it("travels only with an address and without a file", () => {
        expect(canTravel(turn)).toBe(true);
        const {replyAddress: _, ...unaddressed} = turn;
        expect(canTravel(unaddressed)).toBe(false);
        expect(canTravel({...turn, attachment: {name: "s.bin", size: 1, read: async () => new Uint8Array(1)}})).toBe(false);
    });

    it("is refused, naming what is wrong, when its entry is malformed", () => {
        expect(() => decodeTurn("{", signal)).toThrow(expect.objectContaining({code: "cluster/bad_entry", message: "a forwarded turn is not JSON"}));
        const entry = JSON.parse(encodeTurn(turn, 0)) as Record<string, unknown>;
        for (const [field, value, what] of [["author", "bob", "author"], ["text", 3, "text"], ["replyAddress", {channel: 1}, "replyAddress"], ["hops", "1", "hops"]] as const) {
            expect(() => decodeTurn(JSON.stringify({...entry, [field]: value}), signal)).toThrow(`a forwarded turn has a bad ${what}`);
        }
    });
});
