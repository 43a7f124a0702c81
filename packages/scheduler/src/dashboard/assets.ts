import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/*
 * The dashboard's client scripts, bundled at build time (scripts/bundle-client.mjs) into
 * dist/dashboard/assets/NAME-HASH.js, and read into memory once: a few kilobytes each. A page
 * names its entry (`scriptPath('tasks')`); the file's hash is in its URL, so browsers keep it for
 * a year and a new build is a new URL.
 */

/** Where the build put them: beside this module once built; from src/ (route tests), in dist/. */
const ASSET_DIRS = ['./assets/', '../../dist/dashboard/assets/'];

interface Scripts {
  /** Entry name -> URL path (`/assets/tasks-0123456789ab.js`); `NAME.css` -> its stylesheet's. */
  paths: Map<string, string>;
  /** File name -> contents, as built and gzipped by the build. */
  files: Map<string, { plain: Buffer; gzip: Buffer }>;
}

let loaded: Scripts | undefined;

function load(): Scripts {
  for (const dir of ASSET_DIRS) {
    const base = new URL(dir, import.meta.url);
    let manifest: Record<string, string>;
    try {
      manifest = JSON.parse(readFileSync(fileURLToPath(new URL('manifest.json', base)), 'utf8')) as Record<string, string>;
    } catch {
      continue;
    }
    const paths = new Map<string, string>();
    const files = new Map<string, { plain: Buffer; gzip: Buffer }>();
    for (const [name, file] of Object.entries(manifest)) {
      const read = (path: string) => readFileSync(fileURLToPath(new URL(path, base)));
      files.set(file, { plain: read(file), gzip: read(`${file}.gz`) });
      paths.set(name, `/assets/${file}`);
    }
    return { paths, files };
  }
  // Not built (a scheduler run from its sources without `npm run build`): the pages still work,
  // rendered on the server, only without their live parts.
  return { paths: new Map(), files: new Map() };
}

const scripts = () => (loaded ??= load());

/** The URL of an entry's script, or undefined if the build made none of that name. */
export function scriptPath(entry: string): string | undefined {
  return scripts().paths.get(entry);
}

/** The URL of the stylesheet an entry's script imports (a library's CSS), or undefined if it imports none. */
export function entryStylePath(entry: string): string | undefined {
  return scripts().paths.get(`${entry}.css`);
}

/** An asset's contents by its hashed file name (`tasks-0123456789ab.js`, `console-0123456789ab.css`), or undefined. */
export function scriptFile(file: string): Buffer | undefined {
  return scripts().files.get(file)?.plain;
}

/** The same, gzipped at build time (scripts/bundle-client.mjs). */
export function scriptFileGzip(file: string): Buffer | undefined {
  return scripts().files.get(file)?.gzip;
}
