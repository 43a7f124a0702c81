import type { StopWhenCutOff } from '@tapit/protocol';
import { STOP_GRACE_SECONDS } from './stops.js';

/** What the agent's own timer and the engine's stop may take beyond the stop grace. */
const MARGIN_SECONDS = 2;

/*
 * Silence is not death, but a task must not run on unseen once declared lost. An agent cut off
 * for the grace period stops its tasks itself (`welcome.stopWhenCutOff`, Nomad's
 * stop_on_client_disconnect); the scheduler declares them AGENT_LOST only once they must have
 * stopped: the grace, the agent's stop grace, one heartbeat interval (the agent may have heard
 * the scheduler that much later than the scheduler last heard it) and a margin.
 */

/** The rule sent to agents in `welcome`. Small test graces get as small a stop grace. */
export function stopWhenCutOff(graceSeconds: number): StopWhenCutOff {
  return { afterSeconds: graceSeconds, stopGraceSeconds: Math.min(STOP_GRACE_SECONDS, graceSeconds) };
}

/**
 * How long log followers of a task declared lost wait for its agent's late report (its last
 * lines and exit code) before they end without it: one grace period, at least a minute. The
 * report is kept whenever it comes.
 */
export function lateReportWaitSeconds(graceSeconds: number): number {
  return Math.max(graceSeconds, 60);
}

/** Silence after which an agent's tasks are declared AGENT_LOST. */
export function lostAfterSeconds(graceSeconds: number, heartbeatIntervalMs: number): number {
  return graceSeconds + stopWhenCutOff(graceSeconds).stopGraceSeconds + heartbeatIntervalMs / 1000 + MARGIN_SECONDS;
}
