import type { Role } from '@tapit/protocol';
import { DomainError } from '../domain/domain-error.js';
import type { Principal } from './tokens.js';

/*
 * What a principal may do is the domain's rule, not HTTP's: the API, the console and exec
 * upgrades and any later edge (a schedule acting for its creator, an admin command) must refuse
 * alike, so these throw DomainError and each edge converts it as it converts the rest. Proving
 * who the caller is (401, failed-login limits) stays at the edges.
 */

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2 };

/** FORBIDDEN (403) unless the principal's role is at least `role`. */
export function requireRole(principal: Principal, role: Role): void {
  if (RANK[principal.role] < RANK[role]) {
    throw new DomainError('FORBIDDEN', `token "${principal.name}" has role ${principal.role}; this needs ${role} or above`);
  }
}

/** NOT_FOUND (404, not 403: another project's things are invisible) outside the token's project. */
export function requireProject(principal: Principal, project: string): void {
  if (principal.project !== null && principal.project !== project) {
    throw new DomainError('NOT_FOUND', `project "${project}" not found`);
  }
}

/** FORBIDDEN (403) for a token limited to one project: tokens and projects span them all. */
export function requireAllProjects(principal: Principal): void {
  if (principal.project !== null) {
    throw new DomainError('FORBIDDEN', `token "${principal.name}" is limited to project ${principal.project}; this needs a token for all projects`);
  }
}

/** Admins of all projects only: agents and join tokens serve every project. */
export function requireAdminOfAllProjects(principal: Principal): Principal {
  requireRole(principal, 'admin');
  requireAllProjects(principal);
  return principal;
}
