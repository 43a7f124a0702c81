export { createApp } from './app.js';
export { startScheduler, type RunningScheduler } from './server.js';
export { loadConfig, SchedulerConfig } from './config.js';
