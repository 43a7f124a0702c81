import { Args } from '@oclif/core';
import { CreateProjectRequest, Project } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseRequest } from '../../lib/key-values.js';

export default class CreateProject extends BaseCommand {
  static summary = 'Create a project (with its default stage).';
  static examples = ['<%= config.bin %> create project shop'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Project name: lowercase letters, digits, dashes.' }) };

  async run(): Promise<Project> {
    const { argv } = await this.parse(CreateProject);
    const body = parseRequest(CreateProjectRequest, argv as string[], { keys: {}, positional: { field: 'name', name: 'project name', required: true } });
    const project = await (await this.api()).create('/v1/projects', body, Project);
    this.log(`Created project ${project.name} (stages: ${project.stages.join(', ') || 'none'})`);
    return project;
  }
}
