/*
 * Task output and task fields come from the task, not the user: written raw to a terminal they
 * could set the clipboard (OSC 52), clear the screen, retitle the window, or forge a `[system]`
 * line after a carriage return. On a terminal the CLI shows each control character as `\uXXXX`
 * (the JSON spelling: unambiguous, and what `--json` shows too); `--raw`, pipes and files get
 * the bytes as they are.
 */

/** C0 controls but tab, DEL and C1 controls: everything a terminal acts on instead of showing. */
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
/** The same, but line breaks are the caller's own (a whole listing). */
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const visible = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `\u001b]52;…` instead of ESC ] 52 …: the text a terminal shows rather than obeys. */
export function escapeControlCharacters(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? CONTROLS_BUT_NEWLINE : CONTROLS, visible);
}

/** Whether text for `stream` must be escaped: on a terminal, unless the user asked for `--raw`. */
export function escapesFor(stream: { isTTY?: boolean }, raw = false): boolean {
  return stream.isTTY === true && !raw;
}
