// Preloaded into a process a benchmark starts (NODE_OPTIONS=--require …/loop-delay.cjs): once a
// second, how late its event loop ran timers in that second, as one stderr line
// `[loop-delay] {"at":EPOCH_MS,"max":MS,"p99":MS,"mean":MS}`. Nothing of the product changes.
const { monitorEventLoopDelay } = require('node:perf_hooks');

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
const ms = (ns) => Math.round(ns / 1e4) / 100;
setInterval(() => {
  process.stderr.write(`[loop-delay] ${JSON.stringify({ at: Date.now(), max: ms(histogram.max), p99: ms(histogram.percentile(99)), mean: ms(histogram.mean) })}\n`);
  histogram.reset();
}, 1000).unref();
