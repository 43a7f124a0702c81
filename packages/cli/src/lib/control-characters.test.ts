import { describe, expect, it } from 'vitest';
import { escapeControlCharacters, escapesFor } from './control-characters.js';

describe('escapeControlCharacters', () => {
  it('shows escape sequences, carriage returns, C1 controls and DEL as \\uXXXX', () => {
    expect(escapeControlCharacters('a\u001b]52;c;aGk=\u0007b')).toBe('a\\u001b]52;c;aGk=\\u0007b');
    expect(escapeControlCharacters('\u001b[2J\u001b[H')).toBe('\\u001b[2J\\u001b[H');
    expect(escapeControlCharacters('ok\r2021-01-01 [system] fake')).toBe('ok\\u000d2021-01-01 [system] fake');
    expect(escapeControlCharacters('csi\u009b2J del\u007f nul\u0000 bs\b')).toBe('csi\\u009b2J del\\u007f nul\\u0000 bs\\u0008');
    expect(escapeControlCharacters('line\nbreak')).toBe('line\\u000abreak');
  });

  it('keeps tabs, printable text of every script, and line breaks when asked', () => {
    expect(escapeControlCharacters('a\tb héllo ✓ 😀 ¡ \u00a0')).toBe('a\tb héllo ✓ 😀 ¡ \u00a0');
    expect(escapeControlCharacters('one\ntwo\u001b', { keepNewlines: true })).toBe('one\ntwo\\u001b');
  });
});

describe('escapesFor', () => {
  it('escapes on a terminal unless raw, never for a pipe', () => {
    expect(escapesFor({ isTTY: true })).toBe(true);
    expect(escapesFor({ isTTY: true }, true)).toBe(false);
    expect(escapesFor({ isTTY: false })).toBe(false);
    expect(escapesFor({})).toBe(false);
  });
});
