import { CreateReleaseRequest, Release } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { parseRequest } from '../../lib/key-values.js';

export default class CreateRelease extends BaseCommand {
  static summary = "Create a release of an app's image; it becomes the active release.";
  static examples = ['<%= config.bin %> create release image=registry.example.com/shop/web:1.5 -a web'];
  static strict = false;
  static enableJsonFlag = true;

  async run(): Promise<Release> {
    const { argv, flags } = await this.parse(CreateRelease);
    const body = parseRequest(CreateReleaseRequest, argv as string[], { keys: { image: { field: 'image', type: 'string', required: true } } });
    const scope = this.appScope(flags);
    const release = await (await this.api()).create(`${appPath(scope)}/releases`, body, Release);
    this.log(`Created release ${release.number} of ${scope.app}: ${release.image}${release.active ? ' (active)' : ''}`);
    return release;
  }
}
