import type { ImageFacts } from './pull.js';

/** Image references remembered at most; the least recently started from goes first. */
const MAX_KNOWN = 256;

/**
 * What the engine said of each image reference a task started from here, so the next start from
 * the same reference skips the image's inspect (on the path of every task, before its container
 * is created). Checked each time: the created container's own inspect, made anyway, names the
 * image it was created from, and a reference that names another image since (a pull, a
 * `docker tag`) has its container made again from a fresh inspect (docker-driver.ts). Only the
 * digest reported with the task can lag: a repo digest the same image gains later (pushed, or
 * pulled by hand under that name) shows once the reference is inspected again (a restart of the
 * agent, or the entry pushed out by 256 other references).
 */
export class KnownImages {
  private readonly facts = new Map<string, ImageFacts>();

  get(image: string): ImageFacts | undefined {
    return this.facts.get(image);
  }

  /** After every start whose container matched them: the order is that of the starts. */
  remember(image: string, facts: ImageFacts): void {
    this.facts.delete(image);
    this.facts.set(image, facts);
    if (this.facts.size > MAX_KNOWN) this.facts.delete(this.facts.keys().next().value!);
  }

  forget(image: string): void {
    this.facts.delete(image);
  }
}
