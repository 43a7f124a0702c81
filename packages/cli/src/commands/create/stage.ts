import { Args } from '@oclif/core';
import { CreateStageRequest, Project } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseRequest } from '../../lib/key-values.js';

export default class CreateStage extends BaseCommand {
  static summary = 'Create a stage in a project (-p).';
  static examples = ['<%= config.bin %> create stage production -p shop'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Stage name: lowercase letters, digits, dashes.' }) };

  async run(): Promise<Project> {
    const { argv, flags } = await this.parse(CreateStage);
    const body = parseRequest(CreateStageRequest, argv as string[], { keys: {}, positional: { field: 'name', name: 'stage name', required: true } });
    const project = await (await this.api()).create(`/v1/projects/${encodeURIComponent(flags.project)}/stages`, body, Project);
    this.log(`Created stage ${body.name} in project ${project.name} (stages: ${project.stages.join(', ')})`);
    return project;
  }
}
