import { readFileSync } from 'node:fs';

/** The package version, sent in `hello` so operators can see which agents need upgrading. */
export const AGENT_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
