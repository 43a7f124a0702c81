import { UsageError } from './errors.js';

/** SetOps counts CPU in units of 1/1024 vCPU (ECS style); tapit's API takes vCPUs. */
export const CPU_UNITS_PER_VCPU = 1024;

/** SetOps gives memory in MiB; tapit's API takes GB, counted as GiB (1024 MiB), as Docker limits are. */
export const MIB_PER_GB = 1024;

export function cpuUnitsToVcpus(units: number): number {
  return units / CPU_UNITS_PER_VCPU;
}

export function mibToGb(mib: number): number {
  return mib / MIB_PER_GB;
}

/** `--entrypoint "/bin/bash,-c"` → `["/bin/bash", "-c"]`, as SetOps splits it. */
export function parseEntrypoint(value: string): string[] {
  const parts = value.split(',');
  if (parts.some((part) => part === '')) {
    throw new UsageError(`Invalid --entrypoint "${value}": must be a comma-separated list with no empty parts, e.g. "/bin/bash,-c"`);
  }
  return parts;
}
