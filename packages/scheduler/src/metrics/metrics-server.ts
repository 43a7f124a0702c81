import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { LISTEN_ADDRESS } from '../config.js';
import type { AuthFailures } from '../auth/auth-failures.js';
import { metricsEndpoint } from './metrics-endpoint.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';

/**
 * TAPIT_METRICS_LISTEN: a listener of its own that serves only GET /metrics, so the API port need
 * not expose it (bind it to loopback or a network only Prometheus reaches). With
 * TAPIT_METRICS_TOKEN set, the token is asked here too.
 */
export async function serveMetrics(metrics: SchedulerMetrics, listen: string, token: string | undefined, failures: AuthFailures): Promise<{ url: string; close(): Promise<void> }> {
  const [, bracketed, port] = LISTEN_ADDRESS.exec(listen)!;
  const hostname = bracketed!.replace(/^\[|\]$/g, '');
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: metricsEndpoint(metrics, token, failures), hostname, port: Number(port) }, () => resolve(s));
    s.once('error', reject);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's kept-alive connection would hold the close open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
