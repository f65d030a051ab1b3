import type {ReplySink} from "./ReplySink.ts";
import type {AttachmentAddress, Platform, ReplyAddress, Turn, TurnAttachment} from "./Turn.ts";

/**
 * What the core does with a turn; resolves when the turn is finished (answered or failed).
 * `accepted`, when given, is called once the turn would survive this process dying (journaled
 * where a live process answers it), or as soon as it is clear it cannot be (answered here
 * only): an adapter that can hold back its platform's acknowledgement until then (Slack) does,
 * so that an acknowledged event is never lost.
 */
export type TurnHandler = (turn: Turn, sink: ReplySink, accepted?: () => void) => Promise<void>;

/** A platform edge (Discord, Slack, console): client lifecycle, `toTurn()`, reply sinks. */
export interface Adapter {
    readonly platform: Platform;
    /** Whether it is connected to its platform now (started, and not lost since): what `/readyz` checks. */
    readonly connected: boolean;
    /** Connects and starts delivering turns; resolves once ready. */
    start(onTurn: TurnHandler): Promise<void>;
    /**
     * A sink for a turn of this platform that reached another process: it answers through the
     * platform's Web API at `address` (the turn's `replyAddress`). Absent: the platform's turns
     * are answered only where they arrive. Usable once started.
     */
    replySink?(address: ReplyAddress): ReplySink;
    /**
     * An attachment of a turn that reached another process, fetched from `address` (its
     * `TurnAttachment.address`) with this adapter's credentials and limits, once read. Absent:
     * the platform's attachments are read only where they arrive.
     */
    attachment?(file: {readonly name: string; readonly size: number; readonly address: AttachmentAddress}, signal: AbortSignal): TurnAttachment;
    /**
     * Stops delivering turns, aborts the ones still in flight, and disconnects. The app calls it
     * only once the core has finished its turns, so that their replies are delivered first.
     */
    stop(): Promise<void>;
}
