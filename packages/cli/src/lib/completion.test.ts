import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../commands.js';
import { completionTable } from './completion.js';
import { CREATE_SCHEDULE_KEYS } from './schedule-keys.js';
import { CREATE_TASK_KEYS, RUN_TASK_KEYS } from './task-keys.js';

describe('completionTable', () => {
  const table = completionTable(COMMANDS);

  it('offers each command its keys from the spec it parses with', () => {
    expect(table.commands['create:task']!.keys).toEqual([...Object.keys(CREATE_TASK_KEYS.keys), 'keep'].map((key) => `${key}=`));
    expect(table.commands.run!.keys).toEqual(Object.keys(RUN_TASK_KEYS.keys).map((key) => `${key}=`));
    expect(table.commands['create:schedule']!.keys).toEqual(Object.keys(CREATE_SCHEDULE_KEYS.keys).map((key) => `${key}=`));
  });

  it('lists every visible command under its words, and no hidden one', () => {
    expect(table.top).toEqual(expect.arrayContaining(['create', 'list', 'run', 'task', 'autocomplete']));
    expect(table.sub.task).toEqual(['attach', 'run', 'stop']);
    expect(table.sub.autocomplete).toBeUndefined();
    expect(Object.keys(table.commands)).not.toContain('autocomplete:task-ids');
    expect(Object.keys(table.commands).length).toBe(Object.keys(COMMANDS).length - 1);
  });

  it('marks the commands that name a task, which take task= too', () => {
    const naming = Object.entries(table.commands).filter(([, command]) => command.taskId).map(([id]) => id);
    expect(naming.sort()).toEqual(['delete:task', 'list:consoles', 'show:logs', 'show:task', 'task:attach', 'task:stop']);
    expect(table.commands['show:task']!.keys).toEqual(['task=']);
  });
});
