/**
 * The CLI's failures, each with the exit code it ends with. Everything thrown inside a command
 * is converted to one of these at the edge (base-command.ts), so users never see a stack trace.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad input from the user (unknown key, bad value, missing argument): exit code 2, like a usage error. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}
