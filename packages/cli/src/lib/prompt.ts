import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { UsageError } from './errors.js';

/** Asks one question on the terminal; a secret answer is not echoed. Without a terminal, says which flag to give. */
export async function ask(question: string, flag: string, options: { secret?: boolean; default?: string } = {}): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError(`Missing ${flag}: give it as a flag (no terminal to ask on)`);
  let muted = false;
  // readline echoes what is typed through `output`; muting it after the question hides a token.
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const suffix = options.default ? ` [${options.default}]` : '';
    const pending = rl.question(`${question}${suffix}: `);
    muted = options.secret === true;
    const answer = (await pending).trim();
    if (options.secret) process.stderr.write('\n');
    return answer === '' ? (options.default ?? '') : answer;
  } finally {
    rl.close();
  }
}

/** Everything on stdin up to its end: a secret piped in, so that it never appears in argv. */
export async function readStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) text += chunk as string;
  return text;
}
