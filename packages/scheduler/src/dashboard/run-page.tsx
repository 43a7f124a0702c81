/** @jsxImportSource hono/jsx */
import { TaskKind } from '@tapit/protocol';
import { Layout, type Viewer } from './layout.js';

/**
 * The form's fields, named by `tapit create task`'s keys (packages/cli/src/lib/task-keys.ts),
 * each with the API field (CreateTaskRequest) it fills: an error names the API field, and the
 * field's input is marked.
 */
export const RUN_FIELDS = [
  { key: 'cpu', field: 'cpu', label: 'cpu (vCPUs)', type: 'number' },
  { key: 'memory', field: 'memoryGb', label: 'memory (GB)', type: 'number' },
  { key: 'max_hours', field: 'maxHours', label: 'max_hours', type: 'number' },
  { key: 'ephemeral_storage_gb', field: 'ephemeralStorageGb', label: 'ephemeral_storage_gb (disk, GB)', type: 'number' },
  { key: 'image', field: 'image', label: 'image (instead of the release’s)', type: 'text' },
  { key: 'docker_tag', field: 'dockerTag', label: 'docker_tag', type: 'text' },
  { key: 'release', field: 'release', label: 'release', type: 'number' },
  { key: 'keep', field: 'keepSeconds', label: 'keep (10m, 1h… up to 7d: for tapit cp)', type: 'duration' },
  { key: 'initiated_by', field: 'initiatedBy', label: 'initiated_by', type: 'text' },
  { key: 'constraint', field: 'constraints', label: 'constraint (KEY=VALUE,…)', type: 'text' },
] as const;

export type RunForm = Record<string, string>;

export interface RunPageProps {
  viewer: Viewer;
  /** `project/stage/app` of every app the token sees. */
  apps: string[];
  form: RunForm;
  /** Names one Create of the form: sent again, it answers the same task (the API's Idempotency-Key). */
  idempotencyKey: string;
  error?: { message: string; field?: string };
}

export function RunPage(props: RunPageProps) {
  const { form, error } = props;
  const canCreate = props.viewer.principal.role !== 'viewer';
  // The API names body fields (memoryGb, env.KEY): mark the input that filled it.
  const invalid = (field: string) => error?.field !== undefined && (error.field === field || error.field.startsWith(`${field}.`));
  const text = (key: string) => form[key] ?? '';
  return (
    <Layout title="Run a task" viewer={props.viewer}>
      <h1>Run a task</h1>
      <p class="muted">As <code>tapit create task 'COMMAND' key=value… -a APP</code>: fields left empty come from the app.</p>
      {!canCreate && <p class="error" role="alert">Token "{props.viewer.principal.name}" has role viewer: creating a task needs member or above.</p>}
      {error && <p class="error" role="alert" id="run-error">{error.message}</p>}
      <form class="stacked" method="post" action="/run" enctype="multipart/form-data" aria-label="Run a task">
        <input type="hidden" name="csrf" value={props.viewer.csrf} />
        <input type="hidden" name="idempotency_key" value={props.idempotencyKey} />
        <label for="r-app">
          app (project/stage/app)
          <select id="r-app" name="app" required aria-invalid={invalid('app') || invalid('project') || invalid('stage') ? 'true' : undefined}>
            {props.apps.length === 0 && <option value="">no apps</option>}
            {props.apps.map((app) => (
              <option value={app} selected={text('app') === app}>{app}</option>
            ))}
          </select>
        </label>
        <label for="r-command">
          command (a shell line, run with /bin/sh -c)
          <textarea id="r-command" name="command" rows={3} required aria-invalid={invalid('command') ? 'true' : undefined}>{text('command')}</textarea>
        </label>
        <label for="r-kind">
          kind
          <select id="r-kind" name="kind" aria-invalid={invalid('kind') ? 'true' : undefined}>
            {TaskKind.options.map((kind) => (
              <option value={kind} selected={(text('kind') || 'background') === kind}>{kind}</option>
            ))}
          </select>
        </label>
        <div class="grid">
          {RUN_FIELDS.map((f) => (
            <label for={`r-${f.key}`}>
              {f.label}
              <input id={`r-${f.key}`} name={f.key} type="text" inputmode={f.type === 'number' ? 'decimal' : undefined} value={text(f.key)} aria-invalid={invalid(f.field) ? 'true' : undefined} />
            </label>
          ))}
        </div>
        <label for="r-entrypoint">
          entrypoint (one argument a line; empty: the image's)
          <textarea id="r-entrypoint" name="entrypoint" rows={2} aria-invalid={invalid('entrypoint') ? 'true' : undefined}>{text('entrypoint')}</textarea>
        </label>
        <label for="r-env">
          env (KEY=VALUE, one a line: this task's own vars over the app's; once created, the task shows their names only)
          <textarea id="r-env" name="env" rows={3} autocomplete="off" aria-invalid={invalid('env') ? 'true' : undefined}>{text('env')}</textarea>
        </label>
        <fieldset aria-invalid={invalid('files') ? 'true' : undefined}>
          <legend>files (as --file: copied into the container before it starts)</legend>
          <label for="r-file">
            files{error ? ' (pick them again after an error)' : ''}
            <input id="r-file" name="file" type="file" multiple />
          </label>
          <label for="r-file-dir">
            into the container folder
            <input id="r-file-dir" name="file_dir" type="text" placeholder="/app" value={text('file_dir')} />
          </label>
          <label for="r-file-mode">
            mode
            <select id="r-file-mode" name="file_mode">
              <option value="644" selected={text('file_mode') !== '755'}>0644</option>
              <option value="755" selected={text('file_mode') === '755'}>0755 (executable)</option>
            </select>
          </label>
        </fieldset>
        <p>
          <button type="submit" class="primary" disabled={!canCreate || props.apps.length === 0}>Run</button>
        </p>
      </form>
    </Layout>
  );
}
