import { ApiClient } from './api-client.js';
import { connectionSettings } from './connection-settings.js';

/** The scheduler, from TAPIT_URL/TAPIT_TOKEN or the stored login (connection-settings.ts). */
export function connect(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const { url, token, ca, initiatedBy } = connectionSettings(env);
  return new ApiClient(url, token, { ca, initiatedBy });
}
