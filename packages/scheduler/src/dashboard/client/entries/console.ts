import { ConsoleLink, type LinkEnd } from '../lib/console-link.js';
import { DETACH_KEYS_LABEL } from '../lib/detach-keys.js';
import { openTerminal } from '../lib/terminal.js';

/*
 * The console page (`/tasks/ID/console`, `/tasks/ID/exec?command=…`): waits for the task to run,
 * as `tapit run` does, then connects an xterm.js terminal to its console or to a new process in
 * it; the terminal follows its box's size. Detach (the button or Ctrl-P Ctrl-Q) leaves the console
 * running; Reattach opens it again and the replay shows what was missed meanwhile. A dropped
 * link is connected again by itself.
 */

const root = document.getElementById('console')!;
const stateLine = document.getElementById('console-state')!;
const detachButton = document.getElementById('console-detach') as HTMLButtonElement;
const reattachButton = document.getElementById('console-reattach') as HTMLButtonElement;
const mode = root.dataset.mode === 'exec' ? 'exec' : 'attach';
const command = mode === 'exec' ? (JSON.parse(root.dataset.command ?? '[]') as string[]) : undefined;
const { terminal } = openTerminal(document.getElementById('console-terminal')!);
/** How often the task's status is asked while it starts. */
const STATUS_POLL_MS = 1000;
/** A dropped console is connected again for this long (the CLI's TAPIT_RECONNECT_SECONDS default), a try a second. */
const RECONNECT_MS = 60_000;
const RECONNECT_PAUSE_MS = 1000;

let link: ConsoleLink | undefined;

function say(state: string, text: string): void {
  root.dataset.state = state;
  stateLine.textContent = text;
}

function showSize(): void {
  root.dataset.cols = String(terminal.cols);
  root.dataset.rows = String(terminal.rows);
}
terminal.onResize(showSize);
showSize();

interface TaskState {
  status: string;
  exitCode: number | null;
  stopCode: string | null;
}

async function taskState(): Promise<TaskState> {
  const response = await fetch(root.dataset.statusUrl!, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`the task's status: ${response.status} ${response.statusText}`);
  return response.json() as Promise<TaskState>;
}

/** Until the task runs (or ended first); status changes are shown in the terminal, as `tapit run` shows its [system] lines. */
async function untilRunning(): Promise<TaskState> {
  let last = '';
  for (;;) {
    const state = await taskState();
    if (state.status !== last) {
      last = state.status;
      if (state.status !== 'RUNNING') terminal.write(`[system] Task status is ${state.status}\r\n`);
    }
    if (state.status === 'RUNNING' || state.status === 'STOPPING' || state.status === 'STOPPED') return state;
    say('starting', `Task is ${state.status}: waiting for it to run…`);
    await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
  }
}

/**
 * Connects, and while the console runs, connects again when the link drops (as `tapit run`
 * does, for as long): the replay then adds only what the terminal does not show yet. Keys typed
 * while the link is down are not sent.
 */
async function connect(shownUpTo?: number): Promise<void> {
  reattachButton.hidden = true;
  say('connecting', 'Connecting…');
  let giveUpAt: number | undefined;
  for (;;) {
    let end: LinkEnd;
    try {
      const state = await untilRunning();
      if (state.status !== 'RUNNING') return ended({ type: 'exited', exitCode: state.exitCode });
      // A replay that cannot be placed in what the terminal shows starts it afresh.
      if (shownUpTo === undefined && link) terminal.reset();
      link = new ConsoleLink(terminal, { path: root.dataset.socket!, command, shownUpTo, detachKeys: mode === 'attach' }, () => {
        giveUpAt = undefined;
        detachButton.hidden = false;
        say('attached', mode === 'attach' ? `Connected. Detach with ${DETACH_KEYS_LABEL} or the button.` : `Running ${command!.join(' ')}.`);
      });
      terminal.focus();
      end = await link.ended;
      shownUpTo = link.shown ?? shownUpTo;
    } catch (error) {
      // The scheduler did not answer the status (it restarts, the network went): as a dropped link.
      end = { type: 'dropped', reason: error instanceof Error ? error.message : String(error) };
    }
    // An exec's process ends with its link: only a console is connected again, when its link
    // dropped, or when reconnecting finds the scheduler or the task's agent not back yet (as the CLI).
    const notBackYet = end.type === 'error' && giveUpAt !== undefined && end.status !== undefined && (end.status === 409 || end.status >= 500);
    if (mode !== 'attach' || (end.type !== 'dropped' && !notBackYet)) return ended(end);
    giveUpAt ??= Date.now() + RECONNECT_MS;
    if (Date.now() >= giveUpAt) return ended(end);
    detachButton.hidden = true;
    say('reconnecting', `Lost the connection (${end.type === 'dropped' ? end.reason : end.type === 'error' ? end.message : end.type}): connecting again…`);
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_PAUSE_MS));
  }
}

function ended(end: LinkEnd): void {
  detachButton.hidden = true;
  const what = mode === 'attach' ? 'the console' : `${command!.join(' ')}`;
  const canReattach = mode === 'attach' && end.type !== 'exited';
  reattachButton.hidden = !canReattach;
  switch (end.type) {
    case 'exited':
      return say('exited', `${capitalize(what)} ended${end.exitCode === null ? ' without an exit code' : ` with exit code ${end.exitCode}`}.`);
    case 'detached':
      return say('detached', mode === 'attach' ? 'Detached: the task keeps running.' : `Detached from ${what}: it keeps running there.`);
    case 'error':
      return say('error', `Error: ${end.message}`);
    case 'dropped':
      return say('dropped', `Lost the connection to ${what} (${end.reason}).${mode === 'attach' ? ' It keeps running.' : ''}`);
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

detachButton.addEventListener('click', () => link?.detach());
reattachButton.addEventListener('click', () => void connect(link?.shown).catch(failed));

function failed(error: unknown): void {
  say('error', `Error: ${error instanceof Error ? error.message : String(error)}`);
}

const startButton = document.getElementById('console-start') as HTMLButtonElement | null;
if (mode === 'exec' && startButton) {
  // An exec page can be opened by a link from anywhere, signed in: the command runs only when the
  // reader, who sees it on the page, presses Run.
  say('ready', `Nothing runs yet: press "${startButton.textContent}" to start it in the task.`);
  startButton.addEventListener('click', () => {
    startButton.hidden = true;
    void connect().catch(failed);
  }, { once: true });
} else void connect().catch(failed);
