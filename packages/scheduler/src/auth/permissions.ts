import type { Role } from '@tapit/protocol';
import { ApiError } from '../http/api-error.js';
import type { Principal } from './tokens.js';

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };

/** Throws 403 unless the principal's role is at least `role`. */
export function requireRole(principal: Principal, role: Role): void {
  if (RANK[principal.role] < RANK[role]) {
    throw new ApiError('FORBIDDEN', `token "${principal.name}" has role ${principal.role}; this needs ${role} or above`);
  }
}

/** Throws 404 (not 403: another project's things are invisible) outside the token's project. */
export function requireProject(principal: Principal, project: string): void {
  if (principal.project !== null && principal.project !== project) {
    throw new ApiError('NOT_FOUND', `project "${project}" not found`);
  }
}

/** Throws 403 for a token limited to one project: tokens and projects span them all. */
export function requireAllProjects(principal: Principal): void {
  if (principal.project !== null) {
    throw new ApiError('FORBIDDEN', `token "${principal.name}" is limited to project ${principal.project}; this needs a token for all projects`);
  }
}

/** Admins of all projects only: agents and join tokens serve every project. */
export function requireAdminOfAllProjects(principal: Principal): Principal {
  requireRole(principal, 'admin');
  requireAllProjects(principal);
  return principal;
}
