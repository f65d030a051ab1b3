import {webApi} from "@slack/bolt";

/** Rate-limited calls retried before a reply is given up; each waits Slack's `Retry-After` first. */
const rateLimitRetries = 5;

/**
 * Web API options (`onRateLimited` hears each 429 about to be retried): the (possibly proxied or faked) base URL, and retries for 429 only. WebClient
 * already waits out a 429's `Retry-After` and then fails the attempt, so retrying just those
 * loses no reply; anything else (a dead server, a bad request) fails at once instead of
 * WebClient's default of ten retries over half an hour, which could re-post a message.
 */
export function slackClientOptions(apiUrl: string, onRateLimited: () => void = () => {}): webApi.WebClientOptions {
    const retryConfig: webApi.RetryOptions & {onFailedAttempt(error: unknown): void} = {
        retries: rateLimitRetries,
        factor: 1,
        minTimeout: 0,
        maxTimeout: 0,
        onFailedAttempt(error) {
            if (!isRateLimitAttempt(error)) throw error;
            onRateLimited();
        },
    };
    return {slackApiUrl: apiUrl, retryConfig, rejectRateLimitedCalls: false, timeout: 30_000};
}

/** WebClient reports a waited-out 429 as a request error wrapping "A rate limit was exceeded…". */
function isRateLimitAttempt(error: unknown): boolean {
    if (!(error instanceof Error) || (error as {code?: unknown}).code !== webApi.ErrorCode.RequestError) return false;
    const original = (error as {original?: unknown}).original;
    return original instanceof Error && original.message.startsWith("A rate limit was exceeded");
}
