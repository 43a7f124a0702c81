import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITerminalOptions } from '@xterm/xterm';
// Its stylesheet: the build writes it beside the entry's script, and the page links it.
import '@xterm/xterm/css/xterm.css';

/**
 * An xterm.js terminal in `container`; with `fitToContainer`, sized to it now and whenever the
 * container changes size (a recording keeps the size it was recorded at instead).
 */
export function openTerminal(container: HTMLElement, options: ITerminalOptions = {}, fitToContainer = true): { terminal: Terminal; fit: () => void } {
  const terminal = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: { background: '#0d1117', foreground: '#e6edf3', cursor: '#e6edf3' },
    ...options,
  });
  const addon = new FitAddon();
  terminal.loadAddon(addon);
  terminal.open(container);
  const fit = () => {
    // A hidden or collapsed container proposes nothing: the terminal keeps its size.
    if (addon.proposeDimensions()) addon.fit();
  };
  if (!fitToContainer) return { terminal, fit: () => {} };
  fit();
  let queued = false;
  new ResizeObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fit();
    });
  }).observe(container);
  return { terminal, fit };
}
