import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITerminalOptions } from '@xterm/xterm';
import XTERM_CSS from '@xterm/xterm/css/xterm.css';

// xterm.js's own stylesheet comes in the script (bundled as text): a console page has a script
// and no stylesheet of its own, and its CSP allows the inline styles xterm.js sets anyway.
function addStylesheet(): void {
  if (document.getElementById('xterm-css')) return;
  const style = document.createElement('style');
  style.id = 'xterm-css';
  style.textContent = XTERM_CSS;
  document.head.append(style);
}

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
  addStylesheet();
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
