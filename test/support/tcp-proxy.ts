import { createServer, connect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/**
 * A TCP proxy of the tests' own on loopback, for network faults without iptables: put it
 * between a client (CLI, agent) and the scheduler, then cut, freeze or blackhole the link.
 */
export interface TcpProxy {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`): give this to the client instead of the scheduler's URL. */
  url: string;
  port: number;
  /** Ends every open connection with a reset (the peer sees ECONNRESET); new ones still pass. */
  cut(): void;
  /** A link that is down: cuts every open connection and resets each new one until `unblock()`. */
  block(): void;
  unblock(): void;
  /**
   * Stops forwarding in both directions without closing anything (a half-open link, a network
   * split): bytes are held back, not delivered, until `thaw()`; new connections hang too.
   */
  freeze(): void;
  /** Delivers what was held back and forwards again. */
  thaw(): void;
  /**
   * When set, each connection's first response is swallowed and the connection reset once
   * `predicate(requestHead)` matched its request: the server did the work, the client never
   * hears of it (a lost answer).
   */
  dropResponses(predicate: ((requestHead: string) => boolean) | null): void;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Answers swallowed so far by `dropResponses`. */
  readonly dropped: number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket;
}

export interface TcpProxyOptions {
  /** Terminate TLS with this key and certificate (PEM), as nginx or Caddy in front of a scheduler would. */
  tls?: { key: string; cert: string };
}

export async function startTcpProxy(target: { host?: string; port: number }, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1';
  const pairs = new Set<Pair>();
  let frozen = false;
  let blocked = false;
  let dropWhen: ((head: string) => boolean) | null = null;
  let accepted = 0;
  let dropped = 0;

  const onConnection = (client: Socket) => {
    accepted += 1;
    if (blocked) return void client.resetAndDestroy();
    const upstream = connect({ host, port: target.port });
    const pair = { client, server: upstream };
    pairs.add(pair);
    let requestHead = '';
    let dropping = false;
    const forget = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget);
    upstream.on('error', forget);
    client.on('close', forget);
    upstream.on('close', forget);
    client.on('data', (chunk: Buffer) => {
      if (requestHead.length < 8192) requestHead += chunk.toString('latin1');
      if (dropWhen?.(requestHead)) dropping = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropping) {
        // The server answered; the client must never see it.
        if (!client.destroyed) dropped += 1;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    if (frozen) {
      client.pause();
      upstream.pause();
    }
  };
  const server: Server = options.tls ? createTlsServer(options.tls, onConnection) : createServer(onConnection);
  // A client that refuses our certificate (no CA given) ends the handshake: not the proxy's failure.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const port = address.port;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    get connections() {
      return accepted;
    },
    get dropped() {
      return dropped;
    },
    cut() {
      for (const pair of pairs) {
        pair.client.resetAndDestroy();
        pair.server.resetAndDestroy();
      }
      pairs.clear();
    },
    block() {
      blocked = true;
      this.cut();
    },
    unblock() {
      blocked = false;
    },
    freeze() {
      frozen = true;
      for (const pair of pairs) {
        pair.client.pause();
        pair.server.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) {
        pair.client.resume();
        pair.server.resume();
      }
    },
    dropResponses(predicate) {
      dropWhen = predicate;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
