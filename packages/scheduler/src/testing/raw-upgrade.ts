import { request } from 'node:http';

export interface UpgradeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One websocket upgrade request on a fresh connection, answered with an HTTP refusal (or 101,
 * after which the socket is dropped): cheap enough to send hundreds of them in a test.
 */
export function rawUpgrade(
  url: string,
  path: string,
  headers: Record<string, string> = {},
  options: { localAddress?: string } = {},
): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      agent: false,
      // Linux answers on all of 127/8: a test can play several client addresses.
      localAddress: options.localAddress,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, headers: res.headers, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}
