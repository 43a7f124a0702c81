import { execFile } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The label the agent puts on every task container (packages/agent/src/drivers/docker/container-options.ts). */
export const TASK_ID_LABEL = 'tapit.task-id';
/** The label on everything the system tests create in Docker themselves, so teardown removes only those. */
export const E2E_LABEL = 'tapit.e2e-test';

/** Runs the docker CLI and returns its stdout; a non-zero exit rejects with its stderr. */
export async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Like `docker`, but returns the exit code and both outputs instead of rejecting. */
export async function dockerResult(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Ids of every container (running or not) the agent labelled with this task id. */
export async function containersOfTask(taskId: string): Promise<string[]> {
  const out = await docker('ps', '-aq', '--no-trunc', '--filter', `label=${TASK_ID_LABEL}=${taskId}`);
  return out.split('\n').filter(Boolean);
}

/**
 * Ids of the containers created for this task between `since` and now, from the engine's event
 * log: counts containers that were removed since, too.
 */
export async function containerCreatesOfTask(taskId: string, since: Date): Promise<string[]> {
  const out = await docker(
    'events',
    '--since', String(Math.floor(since.getTime() / 1000) - 1),
    '--until', String(Math.ceil(Date.now() / 1000) + 1),
    '--filter', 'type=container',
    '--filter', 'event=create',
    '--filter', `label=${TASK_ID_LABEL}=${taskId}`,
    '--format', '{{.Actor.ID}}',
  );
  return out.split('\n').filter(Boolean);
}

/** 2 on a unified (cgroup v2) host, else 1 — what `stat -fc %T /sys/fs/cgroup` tells apart. */
export function hostCgroupVersion(): 1 | 2 {
  const CGROUP2_SUPER_MAGIC = 0x63677270;
  return statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC ? 2 : 1;
}

/** Removes images by their exact references; ones already gone are fine. */
export async function removeImages(...refs: string[]): Promise<void> {
  for (const ref of refs) await dockerResult('image', 'rm', ref);
}

/**
 * Builds a local image `tag` from `from` plus Dockerfile instructions that run nothing (ENV,
 * LABEL…), so no build container needs a network. Labelled E2E_LABEL; remove it with removeImages.
 */
export async function buildImage(tag: string, from: string, instructions: string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tapit-e2e-image-'));
  try {
    await writeFile(join(dir, 'Dockerfile'), [`FROM ${from}`, ...instructions, `LABEL ${E2E_LABEL}=1`, ''].join('\n'));
    await docker('build', '-q', '-t', tag, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
