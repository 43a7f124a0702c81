import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentCredential, Name } from '@tapit/protocol';
import { z } from 'zod';

/** The file in the state folder that holds the agent's own credential. */
export const CREDENTIAL_FILE = 'agent-credential.json';

const CredentialRecord = z.object({
  version: z.literal(1),
  /** The name the credential is (to be) bound to: another name is another agent. */
  name: Name,
  credential: AgentCredential,
  /** Whether a scheduler has welcomed it: from then on it opens connections on its own. */
  registered: z.boolean(),
});
type CredentialRecord = z.infer<typeof CredentialRecord>;

/**
 * The agent's identity: a secret made here at first start and kept in the state folder (0600).
 * It is registered with a join token at first contact and opens every connection after that,
 * so the join token can be used up, expire or be revoked without this agent noticing.
 */
export class CredentialStore {
  private record: CredentialRecord;
  private readonly path: string;

  constructor(
    stateDir: string,
    name: string,
    private readonly onNew: (why: string) => void = () => {},
  ) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.path = join(stateDir, CREDENTIAL_FILE);
    const existing = this.read();
    if (existing && existing.name === name) {
      this.record = existing;
    } else {
      this.onNew(existing ? `the state folder's credential is agent ${existing.name}'s, not ${name}'s` : 'none in the state folder yet');
      this.record = { version: 1, name, credential: randomBytes(32).toString('base64url'), registered: false };
      this.write();
    }
  }

  get credential(): string {
    return this.record.credential;
  }

  /** Whether a scheduler has accepted it, so connections open with it rather than a join token. */
  get registered(): boolean {
    return this.record.registered;
  }

  markRegistered(): void {
    if (this.record.registered) return;
    this.record = { ...this.record, registered: true };
    this.write();
  }

  /** The stored record; undefined when there is none. An unreadable one stops the start: replacing it would make this a new agent. */
  private read(): CredentialRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return CredentialRecord.parse(JSON.parse(text));
    } catch {
      throw new Error(
        `${this.path} is not a credential this agent wrote: restore it, or remove it to join as a new agent (an admin then deletes the old one: tapit delete agent NAME)`,
      );
    }
  }

  /** Replaced atomically, and never readable by anyone else, whatever the umask. */
  private write(): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.record), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}
