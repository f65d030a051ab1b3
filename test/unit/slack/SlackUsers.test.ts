import {expect, it} from "vitest";
import type {webApi} from "@slack/bolt";
import {SlackUsers} from "../../../adapters/slack/SlackUsers.ts";

it("makes admins of workspace admins, owners and the allow-list, caching briefly", async () => {
    let now = 0;
    const errors: unknown[] = [];
    const users = new SlackUsers(new Set(["UALLOWED"]), (error) => errors.push(error), 1000, () => now);
    const calls: string[] = [];
    const profiles: Record<string, webApi.UsersInfoResponse["user"]> = {
        UADMIN: {team_id: "T1", is_admin: true, real_name: "Ada"}, UOWNER: {team_id: "T1", is_owner: true, name: "own"}, UPLAIN: {team_id: "T1", profile: {display_name: "pl"}},
    };
    const usersInfo = async ({user}: {user: string}): Promise<webApi.UsersInfoResponse> => {
        calls.push(user);
        if (profiles[user] === undefined) throw new Error("user_not_found");
        return {ok: true, user: profiles[user]};
    };
    expect(await users.author(usersInfo, "T1", "UADMIN")).toEqual({id: "UADMIN", name: "Ada", isAdmin: true});
    expect(await users.author(usersInfo, "T1", "UOWNER")).toEqual({id: "UOWNER", name: "own", isAdmin: true});
    expect(await users.author(usersInfo, "T1", "UPLAIN")).toEqual({id: "UPLAIN", name: "pl", isAdmin: false});
    expect(await users.author(usersInfo, "T1", "UALLOWED")).toEqual({id: "UALLOWED", name: "UALLOWED", isAdmin: true});
    expect(errors).toHaveLength(1);
    await users.author(usersInfo, "T1", "UADMIN");
    expect(calls.filter((id) => id === "UADMIN")).toHaveLength(1);
    now = 1000;
    profiles.UADMIN = {team_id: "T1", is_admin: false, real_name: "Ada"};
    expect((await users.author(usersInfo, "T1", "UADMIN")).isAdmin).toBe(false);
});

it("counts a role only for a full member of the event's workspace, never for a Slack Connect guest", async () => {
    const users = new SlackUsers(new Set(["UPARTNER"]), () => {});
    const profiles: Record<string, webApi.UsersInfoResponse["user"]> = {
        UEXTERNAL: {team_id: "T2", is_admin: true, is_owner: true, is_primary_owner: true, name: "ext"},
        USTRANGER: {team_id: "T1", is_admin: true, is_stranger: true, name: "str"},
        URESTRICTED: {team_id: "T1", is_admin: true, is_restricted: true, name: "res"},
        UNOTEAM: {is_admin: true, name: "none"},
        UPARTNER: {team_id: "T2", name: "partner"},
        UHOME: {team_id: "T1", is_admin: true, name: "home"},
    };
    const usersInfo = async ({user}: {user: string}): Promise<webApi.UsersInfoResponse> => ({ok: true, user: profiles[user]});
    for (const id of ["UEXTERNAL", "USTRANGER", "URESTRICTED", "UNOTEAM"]) expect((await users.author(usersInfo, "T1", id)).isAdmin).toBe(false);
    expect((await users.author(usersInfo, "T1", "UPARTNER")).isAdmin).toBe(true);
    expect((await users.author(usersInfo, "T1", "UHOME")).isAdmin).toBe(true);
    expect((await users.author(usersInfo, "", "UHOME")).isAdmin).toBe(false);
});
