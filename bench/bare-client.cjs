// The floor of any command-line client written for Node, for bench/dispatch: `create task CMD
// --wait` with nothing but node:http — the create, then the chunk follow to its `end`, the lines
// printed, the task's exit code as its own. No oclif, no zod, no configuration: what is left is
// Node's start and exit, two requests and the scheduler → agent → Docker path.
// Usage: TAPIT_URL=… TAPIT_TOKEN=… TAPIT_APP=… node bench/bare-client.cjs 'CMD'
'use strict';
const http = require('node:http');
const { randomUUID } = require('node:crypto');

const base = new URL(process.env.TAPIT_URL);
const agent = new http.Agent({ keepAlive: true });
const authorization = `Bearer ${process.env.TAPIT_TOKEN}`;
const request = (method, path, headers, onResponse) => http.request({ host: base.hostname, port: base.port, method, path, headers: { authorization, ...headers }, agent }, onResponse);

const create = request('POST', `/v1/projects/default/stages/default/apps/${process.env.TAPIT_APP}/tasks`, { 'content-type': 'application/json', 'idempotency-key': randomUUID() }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (text) => (body += text));
  res.on('end', () => {
    if (res.statusCode !== 201) return fail(`create answered ${res.statusCode}: ${body}`);
    const task = JSON.parse(body);
    process.stdout.write(`ID: ${task.id}\n`);
    request('GET', `/v1/tasks/${task.id}/logs/chunks/follow`, {}, follow).end();
  });
});
create.end(JSON.stringify({ command: process.argv[2], kind: 'background' }));

function follow(res) {
  let pending = '';
  let ended = false;
  res.setEncoding('utf8');
  // A failed follow, or one cut before the task's end, is a failed run, never a fast one.
  if (res.statusCode !== 200) {
    res.on('data', (text) => (pending += text));
    res.on('end', () => fail(`follow answered ${res.statusCode}: ${pending}`));
    return;
  }
  res.on('end', () => ended || fail('the follow ended before the task did'));
  res.on('data', (text) => {
    pending += text;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line === '') continue; // keep-alive
      const event = JSON.parse(line);
      if (event.type === 'chunk') for (const run of event.chunk.runs) process.stdout.write(`[${run.stream === 'system' ? 'system' : 'app'}] ${run.text}`);
      if (event.type === 'end') {
        ended = true;
        process.stdout.write(`${event.status} (EXITED ${event.exitCode})\n`);
        process.exitCode = event.exitCode ?? 1;
        agent.destroy();
      }
    }
  });
}

function fail(message) {
  process.stderr.write(`bare-client: ${message}\n`);
  process.exitCode = 2;
  agent.destroy();
}
