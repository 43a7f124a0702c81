import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../lib/base-command.js';
import { parseKeyValues, type KeyValueSpec } from '../../lib/key-values.js';
import { UsageError } from '../../lib/errors.js';
import { castEvents, replayCast } from '../../lib/recording.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const SESSION_ARG: KeyValueSpec = {
  positional: { field: 'session', name: 'session', required: false },
  keys: { session: { field: 'session', type: 'string' } },
};

export default class ShowRecording extends BaseCommand {
  static completion: Completion = { keys: keyNames(SESSION_ARG) };
  static summary = 'Replay a console or exec session, or save its recording (asciicast v2).';
  static description =
    'With --output the recording is saved to a file (play it with asciinema, or upload it anywhere that reads .cast). Without it the session is replayed on this terminal at its recorded pace; --raw prints the file itself. tapit list consoles task=ID lists the sessions.';
  static examples = [
    '<%= config.bin %> show recording session=3f2a…',
    '<%= config.bin %> show recording session=3f2a… --speed 4',
    '<%= config.bin %> show recording session=3f2a… --output console.cast',
  ];
  static strict = false;
  static args = { session: Args.string({ description: 'session=ID, from tapit list consoles.' }) };
  static flags = {
    output: Flags.string({ char: 'o', summary: 'Save the recording to this file instead of replaying it.', exclusive: ['raw'] }),
    speed: Flags.string({ summary: 'Replay this many times faster (0.5 for slower).', default: '1' }),
    'idle-limit': Flags.string({ summary: 'Cut pauses longer than this many seconds while replaying.', default: '2' }),
    raw: Flags.boolean({ summary: 'Print the asciicast file as it is.' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ShowRecording);
    const session = String(parseKeyValues(argv as string[], SESSION_ARG).body.session ?? '');
    if (session === '') throw new UsageError('Missing key "session": give session=ID (tapit list consoles task=ID lists them)');
    const speed = positive(flags.speed, '--speed');
    const idleLimit = positive(flags['idle-limit'], '--idle-limit');
    const response = await (await this.api()).stream(`/v1/consoles/${encodeURIComponent(session)}/recording`, {}, undefined, 'application/x-asciicast');
    if (flags.output !== undefined) {
      await pipeline(response.body, createWriteStream(flags.output));
      process.stderr.write(`Saved the recording of session ${session} to ${flags.output}\n`);
      return;
    }
    // Streamed as it arrives: a long recording is never held whole.
    if (flags.raw) return pipeline(response.body, process.stdout, { end: false });
    await replayCast(castEvents(response.body), process.stdout, { speed, idleLimit });
  }
}

function positive(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${flag} must be a number above 0, got "${value}"`);
  return number;
}
