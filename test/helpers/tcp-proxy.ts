// A TCP proxy in front of a real server, to take it away and bring it back on purpose: `cut` refuses new
// connections and drops every open one (the server "goes away" for whoever connects through the proxy),
// `open` listens again on the same port. `silence` keeps every connection open but forwards nothing (a
// partition that drops packets, a server stopped with SIGSTOP), `hear` forwards again what waited.
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly pairs = new Set<[Socket, Socket]>();
  private silent = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listens (on the port of the last open, or a free one the first time) and forwards each connection. */
  async open(): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      if (!this.silent) forward(pair);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** A free port for the proxy to open on later, so that a client can be pointed at it before it listens. */
  async reserve(): Promise<number> {
    await this.open();
    await this.cut();
    return this.port;
  }

  /** Connections stay open, and nothing goes through them until `hear`. */
  silence(): void {
    this.silent = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  hear(): void {
    this.silent = false;
    for (const pair of this.pairs) forward(pair);
  }

  /** Stops listening and drops every connection through the proxy. */
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  }
}

function forward([client, upstream]: [Socket, Socket]): void {
  client.pipe(upstream);
  upstream.pipe(client);
}
