import { format } from 'node:util';
import { Command, Errors, Flags } from '@oclif/core';
import { ApiError, type ApiClient } from './api-client.js';
import { withAppHint } from './app-hint.js';
import { connect } from './connect.js';
import { requireApp, type AppScope, type Scope } from './context.js';
import { escapeControlCharacters, escapesFor } from './control-characters.js';
import { CliError } from './errors.js';

/**
 * Every tapit command: the `-p/-s/-a` scope flags, the API connection, and the one place where
 * any error becomes a single `Error: …` line and an exit code (2 for bad input, 1 otherwise).
 */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    project: Flags.string({ char: 'p', env: 'TAPIT_PROJECT', default: 'default', helpGroup: 'SCOPE', summary: 'Project.' }),
    stage: Flags.string({ char: 's', env: 'TAPIT_STAGE', default: 'default', helpGroup: 'SCOPE', summary: 'Stage of the project.' }),
    app: Flags.string({ char: 'a', env: 'TAPIT_APP', helpGroup: 'SCOPE', summary: 'App of the stage.' }),
  };

  private connection: ApiClient | undefined;
  /** The app this command addressed, to explain a "not found" (app-hint.ts). */
  private addressedApp: AppScope | undefined;

  async init(): Promise<void> {
    await super.init();
    // `tapit show logs … | head` closes our stdout early: that is the reader's choice, not a failure.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }

  /** The scheduler, from TAPIT_URL/TAPIT_TOKEN or the stored login. */
  protected async api(): Promise<ApiClient> {
    this.connection ??= connect();
    return this.connection;
  }

  protected scope(flags: { project: string; stage: string; app?: string }): Scope {
    return { project: flags.project, stage: flags.stage, app: flags.app };
  }

  /** The scope with its app, which must be given; `alternative` adds another way out to the message. */
  protected appScope(flags: { project: string; stage: string; app?: string }, alternative?: string): AppScope {
    this.addressedApp = requireApp(this.scope(flags), alternative);
    return this.addressedApp;
  }

  /**
   * Every listing and message goes through here: on a terminal the control characters of what it
   * shows (a task's command, a stop reason) are escaped, so no field can act on the terminal.
   */
  log(message = '', ...args: unknown[]): void {
    const text = format(message, ...args);
    super.log(escapesFor(process.stdout) ? escapeControlCharacters(text, { keepNewlines: true }) : text);
  }

  /** `--json`: indented for a person at a terminal, one compact line for a pipe (grep, jq, scripts). */
  protected logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, process.stdout.isTTY ? 2 : undefined)}\n`);
  }

  /** Ends the command with a task's exit code (oclif exits through an ExitError). */
  protected exitWith(code: number): void {
    if (code !== 0) this.exit(code);
  }

  protected async catch(error: Error & { exitCode?: number }): Promise<never> {
    // this.exit() and oclif's own exits pass through untouched.
    if (error instanceof Errors.ExitError) throw error;
    const explained = this.connection && this.addressedApp ? await withAppHint(error, this.connection, this.addressedApp) : error;
    const { message, exitCode } = describe(explained);
    // A message can quote a value from the task or the API; on a terminal it is shown, not obeyed.
    process.stderr.write(`Error: ${escapesFor(process.stderr) ? escapeControlCharacters(message, { keepNewlines: true }) : message}\n`);
    throw new Errors.ExitError(exitCode);
  }
}

function describe(error: unknown): { message: string; exitCode: number } {
  if (error instanceof ApiError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof Errors.CLIError) {
    // oclif's parse errors (unknown flag, missing argument) are bad input; its messages span
    // several lines with a heading and a help hint: keep the substance, on one line.
    const lines = error.message
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !/^The following errors? occurred:$/.test(line) && !/^See more help with/.test(line));
    return { message: lines.join('; '), exitCode: error.oclif.exit ?? 2 };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `unexpected failure: ${message}`, exitCode: 1 };
}
