import net from "node:net";

/** A TCP relay to the server that the test can cut and restore, as a database going down and up. */
export class CuttableRelay {
    private server: net.Server | undefined;
    private readonly sockets = new Set<net.Socket>();
    private stalled = false;
    /** The relay's port: the system's choice on the first `up`, kept across cuts. */
    port = 0;
    constructor(private readonly target: {host: string, port: number}) {}

    /** A relay to the server of `url`, up; `url` rewritten to pass through it. */
    static async to(url: string): Promise<{relay: CuttableRelay, url: string}> {
        const parsed = new URL(url);
        const relay = new CuttableRelay({host: parsed.hostname, port: Number(parsed.port || 5432)});
        await relay.up();
        parsed.port = String(relay.port);
        return {relay, url: parsed.toString()};
    }

    async up(): Promise<void> {
        if (this.server !== undefined) return;
        const server = net.createServer((client) => {
            const upstream = net.connect(this.target);
            for (const s of [client, upstream]) {
                this.sockets.add(s);
                s.on("error", () => {});
                s.on("close", () => this.sockets.delete(s));
            }
            client.pipe(upstream).pipe(client);
            if (this.stalled) for (const s of [client, upstream]) s.pause();
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.port, "127.0.0.1", resolve);
        });
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
    }

    /** Holds every byte both ways, connections staying open (a route that drops packets): queries hang until {@link unstall}. */
    stall(): void {
        this.stalled = true;
        for (const s of this.sockets) s.pause();
    }

    unstall(): void {
        this.stalled = false;
        for (const s of this.sockets) s.resume();
    }

    async down(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        for (const s of this.sockets) s.destroy();
        await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    }
}
