/*
 * Every command, by oclif id (topic:command). oclif finds them here (the "explicit" command
 * discovery strategy) rather than by scanning dist/commands, so the whole CLI can be one bundled
 * file; src/commands.test.ts checks that each file under commands/ is listed under its id.
 */
import Autocomplete from './commands/autocomplete/index.js';
import AutocompleteTaskIds from './commands/autocomplete/task-ids.js';
import Cp from './commands/cp.js';
import CreateApp from './commands/create/app.js';
import CreateJoinToken from './commands/create/join-token.js';
import CreateProject from './commands/create/project.js';
import CreateRegistry from './commands/create/registry.js';
import CreateRelease from './commands/create/release.js';
import CreateSchedule from './commands/create/schedule.js';
import CreateStage from './commands/create/stage.js';
import CreateTask from './commands/create/task.js';
import CreateToken from './commands/create/token.js';
import DeleteAgent from './commands/delete/agent.js';
import DeleteRegistry from './commands/delete/registry.js';
import DeleteSchedule from './commands/delete/schedule.js';
import DeleteTask from './commands/delete/task.js';
import DrainAgent from './commands/drain/agent.js';
import ListAgents from './commands/list/agents.js';
import ListAudit from './commands/list/audit.js';
import ListApps from './commands/list/apps.js';
import ListEnv from './commands/list/env.js';
import ListConsoles from './commands/list/consoles.js';
import ListDeliveries from './commands/list/deliveries.js';
import ListJoinTokens from './commands/list/join-tokens.js';
import ListRegistries from './commands/list/registries.js';
import ListReleases from './commands/list/releases.js';
import ListSchedules from './commands/list/schedules.js';
import ListTasks from './commands/list/tasks.js';
import ListTokens from './commands/list/tokens.js';
import Login from './commands/login.js';
import RevokeAgent from './commands/revoke/agent.js';
import RevokeJoinToken from './commands/revoke/join-token.js';
import RevokeToken from './commands/revoke/token.js';
import ResumeSchedule from './commands/resume/schedule.js';
import Run from './commands/run.js';
import SetEnv from './commands/set/env.js';
import SetWebhook from './commands/set/webhook.js';
import ShowLogs from './commands/show/logs.js';
import ShowRecording from './commands/show/recording.js';
import ShowSchedule from './commands/show/schedule.js';
import ShowTask from './commands/show/task.js';
import ShowWebhook from './commands/show/webhook.js';
import TaskIndex from './commands/task/index.js';
import TaskAttach from './commands/task/attach.js';
import TaskRun from './commands/task/run.js';
import TaskStop from './commands/task/stop.js';
import SuspendSchedule from './commands/suspend/schedule.js';
import TriggerSchedule from './commands/trigger/schedule.js';
import UndrainAgent from './commands/undrain/agent.js';
import UnsetEnv from './commands/unset/env.js';
import UnsetWebhook from './commands/unset/webhook.js';
import UpdateAgent from './commands/update/agent.js';
import UpdateApp from './commands/update/app.js';

export const COMMANDS = {
  autocomplete: Autocomplete,
  'autocomplete:task-ids': AutocompleteTaskIds,
  cp: Cp,
  'create:app': CreateApp,
  'create:join-token': CreateJoinToken,
  'create:project': CreateProject,
  'create:registry': CreateRegistry,
  'create:release': CreateRelease,
  'create:schedule': CreateSchedule,
  'create:stage': CreateStage,
  'create:task': CreateTask,
  'create:token': CreateToken,
  'delete:agent': DeleteAgent,
  'delete:registry': DeleteRegistry,
  'delete:schedule': DeleteSchedule,
  'delete:task': DeleteTask,
  'drain:agent': DrainAgent,
  'list:agents': ListAgents,
  'list:audit': ListAudit,
  'list:apps': ListApps,
  'list:env': ListEnv,
  'list:consoles': ListConsoles,
  'list:deliveries': ListDeliveries,
  'list:join-tokens': ListJoinTokens,
  'list:registries': ListRegistries,
  'list:releases': ListReleases,
  'list:schedules': ListSchedules,
  'list:tasks': ListTasks,
  'list:tokens': ListTokens,
  'login': Login,
  'revoke:agent': RevokeAgent,
  'revoke:join-token': RevokeJoinToken,
  'revoke:token': RevokeToken,
  'resume:schedule': ResumeSchedule,
  'run': Run,
  'set:env': SetEnv,
  'set:webhook': SetWebhook,
  'show:logs': ShowLogs,
  'show:recording': ShowRecording,
  'show:schedule': ShowSchedule,
  'show:task': ShowTask,
  'show:webhook': ShowWebhook,
  'task': TaskIndex,
  'task:attach': TaskAttach,
  'task:run': TaskRun,
  'task:stop': TaskStop,
  'suspend:schedule': SuspendSchedule,
  'trigger:schedule': TriggerSchedule,
  'undrain:agent': UndrainAgent,
  'unset:env': UnsetEnv,
  'unset:webhook': UnsetWebhook,
  'update:agent': UpdateAgent,
  'update:app': UpdateApp,
};
