import { Flags } from '@oclif/core';
import { AuditEventList } from '@tapit/protocol';
import { auditTable } from '../../lib/audit-output.js';
import { BaseCommand } from '../../lib/base-command.js';
import { parseSince } from '../../lib/log-since.js';
import { listPages } from '../../lib/paged-list.js';

export default class ListAudit extends BaseCommand {
  static summary = 'List the audit trail, newest first: who changed what, on whose behalf, from where, when.';
  static description =
    'Every change made through the API (creates, updates, stops, deletes, revocations) and every console attach, exec and detach is an event; reads are not. Without -p (or TAPIT_PROJECT), every project the token sees; a token for one project sees only its project, and only an admin for all projects sees the events of tokens, join tokens and agents. TAPIT_INITIATED_BY names who is behind a shared token in the events of the changes this CLI makes.';
  static examples = [
    '<%= config.bin %> list audit --since 1h',
    '<%= config.bin %> list audit --action task.stop --actor ci',
    '<%= config.bin %> list audit --target 3f2a9c0d --json',
    '<%= config.bin %> list audit --action "console.*" -p shop',
  ];
  static enableJsonFlag = true;
  static flags = {
    since: Flags.string({ summary: 'Only events at or after this: a duration ago (30s, 10m, 2h, 7d) or a timestamp with its zone (2026-11-30T17:00:00Z).' }),
    actor: Flags.string({ summary: 'Only changes made with this token (its name), or `scheduler` for what schedules did.' }),
    action: Flags.string({ summary: 'Only this action (task.create, task.stop, console.exec, …) or all of a kind (task.*).' }),
    target: Flags.string({ summary: 'Only events about this: a task or schedule id (or a prefix of 4+ characters), an app (project/stage/app), a token or agent name.' }),
    limit: Flags.integer({ summary: 'At most this many events.', default: 50, min: 1 }),
  };

  async run(): Promise<AuditEventList> {
    const { flags, metadata } = await this.parse(ListAudit);
    // The project filters only when asked for: the audit trail spans projects, and an admin's spans none.
    const project = metadata.flags.project?.setFromDefault ? undefined : flags.project;
    const since = flags.since === undefined ? undefined : parseSince(flags.since, '--since');
    const query = { since, actor: flags.actor, action: flags.action, target: flags.target, project };
    const list = await listPages(await this.api(), '/v1/audit', AuditEventList, query, flags.limit);
    this.log(auditTable(list.items));
    return list;
  }
}
