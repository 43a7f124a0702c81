import { describe, expect, it } from 'vitest';
import { app, createAppRequest, createProjectRequest, createReleaseRequest, createStageRequest, project, release } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import {
  App,
  AppList,
  CreateAppRequest,
  CreateProjectRequest,
  CreateReleaseRequest,
  CreateStageRequest,
  Project,
  ProjectList,
  Release,
  ReleaseList,
} from './apps.js';

describe('projects and stages', () => {
  it('cross the wire unchanged', () => {
    expect(overTheWire(CreateProjectRequest, createProjectRequest)).toStrictEqual(createProjectRequest);
    expect(overTheWire(CreateStageRequest, createStageRequest)).toStrictEqual(createStageRequest);
    expect(overTheWire(Project, project)).toStrictEqual(project);
    expect(overTheWire(ProjectList, { items: [project] })).toStrictEqual({ items: [project] });
  });

  it.each([
    ['name', CreateProjectRequest, { name: 'Shop' }],
    ['name', CreateProjectRequest, {}],
    ['stages', CreateProjectRequest, { name: 'shop', stages: ['default'] }],
    ['name', CreateStageRequest, { name: 'stag ing' }],
    ['stages.1', Project, { ...project, stages: ['default', 'Staging'] }],
    ['createdAt', Project, without(project, 'createdAt')],
    ['items.0.name', ProjectList, { items: [{ ...project, name: '' }] }],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});

describe('apps', () => {
  it('cross the wire unchanged', () => {
    expect(overTheWire(CreateAppRequest, createAppRequest)).toStrictEqual(createAppRequest);
    expect(overTheWire(App, app)).toStrictEqual(app);
    expect(overTheWire(AppList, { items: [app] })).toStrictEqual({ items: [app] });
  });

  it('need only a name and an image; defaults are the scheduler’s to fill in', () => {
    expect(CreateAppRequest.parse({ name: 'worker', image: 'busybox' })).toStrictEqual({ name: 'worker', image: 'busybox' });
  });

  it.each([
    ['image', CreateAppRequest, without(createAppRequest, 'image')],
    ['name', CreateAppRequest, { ...createAppRequest, name: 'web_app' }],
    ['cpu', CreateAppRequest, { ...createAppRequest, cpu: 128 }],
    ['memoryGb', CreateAppRequest, { ...createAppRequest, memoryGb: '1' }],
    ['maxHours', CreateAppRequest, { ...createAppRequest, maxHours: -1 }],
    ['memory', CreateAppRequest, { ...createAppRequest, memory: 1 }],
    ['defaults.memoryGb', App, { ...app, defaults: { ...app.defaults, memoryGb: 0 } }],
    ['defaults.maxHours', App, { ...app, defaults: without(app.defaults, 'maxHours') }],
    ['activeRelease', App, { ...app, activeRelease: 0 }],
    ['project', App, without(app, 'project')],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});

describe('releases', () => {
  it('cross the wire unchanged', () => {
    expect(overTheWire(CreateReleaseRequest, createReleaseRequest)).toStrictEqual(createReleaseRequest);
    expect(overTheWire(Release, release)).toStrictEqual(release);
    expect(overTheWire(ReleaseList, { items: [release] })).toStrictEqual({ items: [release] });
  });

  it.each([
    ['image', CreateReleaseRequest, { image: 'web 1.4.3' }],
    ['number', CreateReleaseRequest, { ...createReleaseRequest, number: 4 }],
    ['number', Release, { ...release, number: 1.5 }],
    ['active', Release, { ...release, active: 'yes' }],
    ['items.0.image', ReleaseList, { items: [{ ...release, image: '' }] }],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});
