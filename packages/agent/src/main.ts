import { startAgent } from './agent.js';
import { ConfigError, loadConfig } from './config.js';
import { configureLog, errorMessage, log } from './log.js';
import { prepareStateDir } from './state-dir.js';

const USAGE = `usage: tapit-agent
Runs tapit tasks in Docker containers for a scheduler. Configured by environment:
  TAPIT_SCHEDULER_URL (default http://127.0.0.1:7700), TAPIT_AGENT_TOKEN (a join token: required
  until the agent's own credential, kept in its state folder, is registered at first contact),
  TAPIT_AGENT_NAME (default hostname), TAPIT_AGENT_STATE_DIR (default /var/lib/tapit-agent),
  TAPIT_AGENT_LABELS (e.g. region=eu,gpu=true: labels apps and tasks can require),
  TAPIT_AGENT_NETWORK (default bridge: a network per project), TAPIT_AGENT_CPU, TAPIT_AGENT_MEMORY_GB,
  TAPIT_AGENT_TASK_PIDS (default 1024, each task's PIDs limit), DOCKER_HOST,
  TAPIT_AGENT_STOP_GRACE_SECONDS (default 10, for max_hours and storage stops),
  TAPIT_AGENT_STORAGE_CHECK_MS (default 5000), TAPIT_AGENT_SPOOL_MEMORY_MB (default 32),
  TAPIT_CONSOLE_GRACE_SECONDS (default 900: a console nobody is attached to is then stopped),
  TAPIT_AGENT_ENGINE_CHECK_MS (default 2000: how often the Docker engine is pinged),
  TAPIT_AGENT_ENGINE_WAIT_SECONDS (default 300: a task is held this long for an unreachable engine),
  TAPIT_CA_FILE (PEM file of the CA behind a https:// scheduler URL, trusted besides Node's own),
  TAPIT_AGENT_METRICS_LISTEN (HOST:PORT for Prometheus GET /metrics; unset: none),
  TAPIT_LOG_FORMAT (json | pretty; default pretty on a terminal, else json), TAPIT_LOG_LEVEL (debug | info | warn | error; default info)`;

/** Entry point of bin/tapit-agent.js; exits the process with the agent's exit code. */
export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  let config;
  try {
    config = loadConfig(process.env);
    configureLog({ format: config.logFormat, level: config.logLevel });
    prepareStateDir(config.stateDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tapit-agent: ${error.message}\n`);
    process.exit(2);
  }
  try {
    const agent = await startAgent(config);
    // SIGTERM/SIGINT: finish reporting, disconnect, leave containers running for the next start.
    const shutdown = (signal: string) => {
      log('agent.stopping', { signal });
      void agent.stop();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    const code = await agent.done;
    log('agent.stopped', { code });
    process.exit(code);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tapit-agent: ${error.message}\n`);
      process.exit(2);
    }
    log('agent.failed', { error: errorMessage(error) });
    process.exit(1);
  }
}
