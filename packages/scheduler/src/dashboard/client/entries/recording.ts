import { castLines, type CastEvent } from '../lib/cast.js';
import { openTerminal } from '../lib/terminal.js';

/*
 * The recording page (`/consoles/SESSION`): plays a console recording (asciicast v2) in an
 * xterm.js terminal at its recorded pace, as `tapit show recording` does: output only (the echo
 * of what was typed is in it; a password typed without echo stays hidden), pauses cut to
 * IDLE_LIMIT_S, at the chosen speed, with play and pause. The file is read as it arrives.
 */

const IDLE_LIMIT_S = 2;
/** Sleeps are cut into steps this long, so a pause takes effect at once. */
const STEP_MS = 50;
/** Gaps shorter than this add up until they are worth a timer (a browser's timers are not finer anyway). */
const MIN_SLEEP_MS = 15;

const root = document.getElementById('recording')!;
const stateLine = document.getElementById('recording-state')!;
const playButton = document.getElementById('recording-play') as HTMLButtonElement;
const restartButton = document.getElementById('recording-restart') as HTMLButtonElement;
const speedSelect = document.getElementById('recording-speed') as HTMLSelectElement;
const { terminal } = openTerminal(document.getElementById('recording-terminal')!, { cursorBlink: false, disableStdin: true }, false);

let paused = false;
/** Bumped by a restart: the run of an older play stops at its next event. */
let run = 0;

function say(state: string, text: string): void {
  root.dataset.state = state;
  stateLine.textContent = text;
  playButton.textContent = state === 'playing' ? 'Pause' : 'Play';
}

/** Waits `ms` of playing time (a pause stops the clock); false if a restart superseded this run. */
async function wait(ms: number, mine: number): Promise<boolean> {
  let left = ms;
  while (left > 0 || paused) {
    if (run !== mine) return false;
    const step = left > 0 ? Math.min(STEP_MS, left) : STEP_MS;
    await new Promise((resolve) => setTimeout(resolve, step));
    if (!paused) left -= step;
  }
  return run === mine;
}

async function play(): Promise<void> {
  const mine = ++run;
  paused = false;
  terminal.reset();
  say('playing', 'Playing…');
  const response = await fetch(root.dataset.src!, { headers: { accept: 'application/x-asciicast' } });
  if (!response.ok || !response.body) throw new Error(`the recording: ${response.status} ${response.statusText}`);
  let last = 0;
  /** Playing time owed to the gaps so far: slept once it is worth a timer, so a burst of events is one write after another. */
  let owed = 0;
  for await (const item of castLines(response.body)) {
    if (run !== mine) return;
    if (!('code' in item)) {
      terminal.resize(item.width, item.height);
      continue;
    }
    const event: CastEvent = item;
    if (event.code === 'o' || event.code === 'r') {
      const gap = Math.min(Math.max(0, event.time - last), IDLE_LIMIT_S);
      last = event.time;
      owed += (gap * 1000) / Number(speedSelect.value);
      if (owed >= MIN_SLEEP_MS || paused) {
        if (!(await wait(owed, mine))) return;
        owed = 0;
      }
    }
    if (event.code === 'o') terminal.write(event.data);
    else if (event.code === 'r') {
      const size = /^(\d+)x(\d+)$/.exec(event.data);
      if (size) terminal.resize(Number(size[1]), Number(size[2]));
    } else if (event.code === 'm') stateLine.textContent = `Marker: ${event.data}`;
  }
  if (run === mine) say('ended', 'The recording ended.');
}

function failed(error: unknown): void {
  say('error', `Error: ${error instanceof Error ? error.message : String(error)}`);
}

playButton.addEventListener('click', () => {
  const state = root.dataset.state;
  if (state === 'playing') {
    paused = true;
    say('paused', 'Paused.');
  } else if (state === 'paused') {
    paused = false;
    say('playing', 'Playing…');
  } else void play().catch(failed);
});
restartButton.addEventListener('click', () => void play().catch(failed));

void play().catch(failed);
