import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLabels, formatStatus, scheduleListing } from './index.js';

const HERE = new URL('.', import.meta.url).pathname;

describe('@tapit/protocol/format', () => {
  it('loads no module but its own at run time (the CLI early start avoids zod)', () => {
    for (const file of readdirSync(HERE).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const source = readFileSync(join(HERE, file), 'utf8');
      for (const [, clause, from] of source.matchAll(/^(?:import|export)\s+(.*?)\s+from\s+'([^']+)'/gms)) {
        if (clause!.startsWith('type ')) continue;
        expect(from, `${file}: ${clause}`).toMatch(/^\.\/[a-z-]+\.js$/);
      }
    }
  });

  it("shows a task's stop as `show task` does", () => {
    expect(formatStatus({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 3 })).toBe('STOPPED (EXITED 3)');
    expect(formatLabels({ zone: 'b', gpu: 'true' })).toBe('gpu=true,zone=b');
    expect(scheduleListing([]).headers).toContain('FAILING');
  });
});
