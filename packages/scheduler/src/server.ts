import type { createServer, ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { AGENT_WEBSOCKET_PATH, AgentGateway } from './agents/gateway.js';
import { ControlLoop } from './agents/control-loop.js';
import { CONTROL_PASSES } from './agents/control-passes.js';
import { ScheduleEngine } from './schedules/schedule-engine.js';
import { ConsoleBroker } from './consoles/broker.js';
import { dashboardSockets } from './dashboard/sockets.js';
import { CopyBroker } from './copies/copy-broker.js';
import type { SchedulerFrame } from '@tapit/protocol';
import { answerMalformedRequest, apiServerFactory, refuseConnect } from './http/malformed-request.js';
import { refuseIfRateLimited, refuseUpgrade } from './http/refuse-upgrade.js';
import { ConnectionLimiter, serverOptions, warnIfDescriptorsShort, type ConnectionLimits } from './http/connection-limits.js';
import { StreamLimits } from './http/stream-limits.js';
import { isTaskReference, TASK_REFERENCE_RULE } from './http/validate-references.js';
import { AuthFailures } from './auth/auth-failures.js';
import { createApp } from './app.js';
import { TokenWatch } from './auth/token-watch.js';
import { ensureBootstrapToken, logBootstrapToken } from './auth/tokens.js';
import { advertiseUrl, replicaId, type SchedulerConfig } from './config.js';
import { RelayCredential } from './replicas/relay-credential.js';
import { advertiseReplica } from './replicas/replica-directory.js';
import { closeAbandonedConsoleSessions } from './consoles/repository.js';
import { openDatabase } from './db/client.js';
import { describeDatabaseError } from './db/errors.js';
import { DatabaseProbe } from './db/health.js';
import { migrateToLatest } from './db/migrate.js';
import { startIdempotencyKeyCleanup } from './idempotency/cleanup.js';
import { AllowedNetworks } from './alerts/allowed-networks.js';
import { WebhookSender } from './alerts/webhook-sender.js';
import { TaskSignals } from './tasks/task-signals.js';
import { RecentChunks } from './logs/recent-chunks.js';
import { createFollowHub } from './logs/routes.js';
import { LogRetention } from './logs/log-retention.js';
import { loadSecretBox } from './secrets/secret-keys.js';
import { resealRegistryPasswords } from './registries/repository.js';
import { resealSecrets } from './env/reseal.js';
import { SCHEDULER_VERSION } from './version.js';
import type { Log } from './log.js';
import type { SchedulerMetrics } from './metrics/scheduler-metrics.js';
import { isMetricsRequest, metricsEndpoint } from './metrics/metrics-endpoint.js';
import { serveMetrics } from './metrics/metrics-server.js';

export interface RunningScheduler {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Longest an exit's ack (and the agent's removal of the container) waits for the task's followers here to read its end. */
const FOLLOWERS_READ_MAX_MS = 250;

/** Opens the database, migrates it, and serves the API and the agent websocket. */
export async function startScheduler(config: SchedulerConfig, log: Log): Promise<RunningScheduler> {
  let lastConnectionError = 0;
  const database = await openDatabase({
    url: config.TAPIT_DATABASE_URL,
    dataDir: config.TAPIT_DATA_DIR,
    // A restart breaks every pooled connection at once: one line for them, not one each.
    onConnectionError: (error) => {
      if (Date.now() - lastConnectionError < 5000) return;
      lastConnectionError = Date.now();
      log(`database connection lost: ${describeDatabaseError(error)}`, 'warn');
    },
  });
  // Beside the embedded database's files, made once and kept: it opens every secret stored.
  const secrets = loadSecretBox({ key: config.TAPIT_SECRET_KEY, previous: config.TAPIT_SECRET_KEY_PREVIOUS, dataDir: config.TAPIT_DATA_DIR, log });
  const applied = await migrateToLatest(database.db);
  if (applied.length > 0) log(`migrations applied: ${applied.join(', ')}`);
  // After a key rotation: what a previous key sealed is sealed with the new one (a key this
  // replica lacks stops its start here, saying which, rather than failing pulls later).
  const resealed = await resealRegistryPasswords(database.db, secrets);
  if (resealed > 0) log(`secret key ${secrets.currentKeyId}: ${resealed} registry password(s) sealed again with it`);
  // App secrets and tasks' own vars likewise (a damaged one is named, not fatal: only the tasks
  // that need it fail to start, saying which var).
  const envResealed = await resealSecrets(database.db, secrets);
  if (envResealed.resealed > 0) log(`secrets: ${envResealed.resealed} sealed again with the current key ${secrets.currentKeyId}; a previous key no other value needs may now be dropped`);
  for (const unreadable of envResealed.unreadable) log(`secrets: cannot open ${unreadable}; tasks that need it fail to start`, 'warn');
  if (config.TAPIT_BOOTSTRAP_TOKEN) logBootstrapToken(await ensureBootstrapToken(database.db, config.TAPIT_BOOTSTRAP_TOKEN), log);
  if (!config.TAPIT_AGENT_JOIN_TOKEN) log('TAPIT_AGENT_JOIN_TOKEN is not set: agents join with join tokens an admin creates (tapit create join-token)');
  const schedulerId = replicaId(config);
  // Before this replica relays any console: every open session of its id is its dead past's.
  const abandoned = await closeAbandonedConsoleSessions(database.db, schedulerId);
  if (abandoned.length > 0) log(`closed ${abandoned.length} console session(s) ${schedulerId} held when it stopped: ${abandoned.join(', ')}`);

  const signals = new TaskSignals();
  const recentChunks = new RecentChunks();
  // The log follows of the API and of the dashboard's live logs: one shared reader per task.
  const followHub = createFollowHub({ db: database.db, signals, recentChunks });
  const tokenWatch = new TokenWatch(database.db);
  const probe = new DatabaseProbe(database.db);
  // One count of failed logins per address for the API and every websocket upgrade.
  const authFailures = new AuthFailures({ perMinute: config.TAPIT_AUTH_FAILURES_PER_MINUTE, log });
  // One count of open streams for the log follows and the console and exec sessions.
  const streamLimits = new StreamLimits({ perToken: config.TAPIT_MAX_STREAMS_PER_TOKEN, total: config.TAPIT_MAX_STREAMS });
  // The HTTP app tells this replica's gateway at once of a revoked, deleted or changed agent.
  let agentChanged = (_name: string): Promise<void> => Promise.resolve();
  // Copies (`tapit cp`) and kept containers go through this replica's agent connections, made below.
  let copies: CopyBroker | null = null;
  let sendToAgent = (_agent: string, _frame: SchedulerFrame): void => {};
  let agentsConnected = () => 0;
  // The dashboard's sockets are made with the server, below; a sign-out before then ends none.
  let dashboardSessionEnded = (_sessionId: string): void => {};
  // Counted only where served: prom-client is loaded then, and a scheduler without metrics starts as before.
  const metrics: SchedulerMetrics | undefined =
    config.TAPIT_METRICS_TOKEN === undefined && config.TAPIT_METRICS_LISTEN === undefined
      ? undefined
      : new (await import('./metrics/scheduler-metrics.js')).SchedulerMetrics({
          db: database.db,
          dbKind: database.kind,
          ...(database.pool ? { pool: database.pool } : {}),
          agentsConnected: () => agentsConnected(),
          taskCountsCacheMs: config.TAPIT_METRICS_CACHE_SECONDS * 1000,
        });
  const app = createApp(
    { db: database.db, dbKind: database.kind, signals, tokenWatch, version: SCHEDULER_VERSION, checkDatabase: () => probe.check(), authFailures, agentChanged: (name) => agentChanged(name), recentChunks, followHub, dashboardSessionEnded: (sessionId) => dashboardSessionEnded(sessionId), streamLimits, secrets, taskFilesMaxBytes: config.TAPIT_TASK_FILES_MAX_BYTES, openCopy: (task, path) => copies!.open(task, path), removeContainer: (agent, taskId) => sendToAgent(agent, { type: 'task.remove', taskId }), ...(metrics ? { metrics } : {}) },
    log,
  );
  const gateway = new AgentGateway({
    db: database.db,
    signals,
    schedulerId,
    joinToken: config.TAPIT_AGENT_JOIN_TOKEN,
    heartbeatIntervalMs: config.TAPIT_HEARTBEAT_INTERVAL_MS,
    agentLostGraceSeconds: config.TAPIT_AGENT_LOST_GRACE_SECONDS,
    maxConnections: config.TAPIT_MAX_AGENT_CONNECTIONS,
    secrets,
    log,
    authFailures,
    recentChunks,
    followersRead: (taskId) => followHub.read(taskId, FOLLOWERS_READ_MAX_MS),
    logMaxBytesPerTask: config.TAPIT_LOG_MAX_BYTES_PER_TASK,
    ...(metrics ? { metrics } : {}),
  });
  agentChanged = (name) => gateway.refresh(name);
  agentsConnected = () => gateway.sessions.size;
  // Consoles, execs and copies reach an agent held by another replica through it (replicas/).
  const relay = new RelayCredential(secrets);
  copies = new CopyBroker({ db: database.db, agents: gateway.sessions, log, maxBytes: config.TAPIT_COPY_MAX_BYTES, authFailures, schedulerId, relay });
  sendToAgent = (agent, frame) => gateway.sessions.get(agent)?.send(frame);
  const schedules = new ScheduleEngine({
    db: database.db,
    dbKind: database.kind,
    signals,
    missedAfterSeconds: config.TAPIT_SCHEDULE_MISSED_AFTER_SECONDS,
    retryBackoffMs: config.TAPIT_SCHEDULE_RETRY_BACKOFF_MS,
    log,
  });
  // Alerts are sent by every replica, as one more pass of its control loop.
  const webhooks = new WebhookSender({
    db: database.db,
    timeoutMs: config.TAPIT_WEBHOOK_TIMEOUT_MS,
    retryBaseMs: config.TAPIT_WEBHOOK_RETRY_BASE_MS,
    retryForSeconds: config.TAPIT_WEBHOOK_RETRY_FOR_SECONDS,
    networks: new AllowedNetworks(config.TAPIT_WEBHOOK_ALLOWED_NETWORKS),
    version: SCHEDULER_VERSION,
    log,
  });
  const loop = new ControlLoop({
    db: database.db,
    gateway,
    signals,
    pollIntervalMs: config.TAPIT_POLL_INTERVAL_MS,
    agentLostGraceSeconds: config.TAPIT_AGENT_LOST_GRACE_SECONDS,
    heartbeatIntervalMs: config.TAPIT_HEARTBEAT_INTERVAL_MS,
    deadlineSlackSeconds: config.TAPIT_DEADLINE_SLACK_SECONDS,
    // Expired logs are deleted a small batch per run, so the other passes are never held up.
    passes: [...CONTROL_PASSES, ...schedules.controlPasses(), webhooks.controlPass(), new LogRetention({ defaultDays: config.TAPIT_LOG_RETENTION_DAYS ?? null }).controlPass()],
    log,
  });

  const limits: ConnectionLimits = {
    maxConnections: config.TAPIT_MAX_CONNECTIONS,
    maxPerAddress: config.TAPIT_MAX_CONNECTIONS_PER_ADDRESS,
    headersTimeoutMs: config.TAPIT_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.TAPIT_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.TAPIT_KEEP_ALIVE_TIMEOUT_MS,
  };
  warnIfDescriptorsShort(limits, log);
  const connections = new ConnectionLimiter(limits, log);
  // GET /metrics on the API port only with its token; without one it is no route here (404).
  const metricsOnApiPort = metrics && config.TAPIT_METRICS_TOKEN !== undefined ? metricsEndpoint(metrics, config.TAPIT_METRICS_TOKEN, authFailures) : null;
  const fetch: typeof app.fetch = (request, ...rest) => (metricsOnApiPort && isMetricsRequest(request) ? metricsOnApiPort(request) : app.fetch(request, ...rest));
  const server: ServerType = await new Promise((resolve, reject) => {
    const apiServer = apiServerFactory(fetch, config.TAPIT_HOST);
    const s = serve(
      {
        fetch,
        hostname: config.TAPIT_HOST,
        port: config.TAPIT_PORT,
        serverOptions: serverOptions(limits),
        // The limiter goes in before the server listens, so no connection escapes the count.
        createServer: ((options: ServerOptions) => {
          const created = apiServer(options);
          connections.install(created);
          return created;
        }) as typeof createServer,
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  // Requests Node itself refuses or has no handler for get the API's error body too.
  server.on('clientError', answerMalformedRequest);
  server.on('connect', refuseConnect);
  const metricsServer = metrics && config.TAPIT_METRICS_LISTEN !== undefined ? await serveMetrics(metrics, config.TAPIT_METRICS_LISTEN, config.TAPIT_METRICS_TOKEN, authFailures) : null;
  if (metricsServer) log(`metrics served on ${metricsServer.url}/metrics${config.TAPIT_METRICS_TOKEN ? ' (with TAPIT_METRICS_TOKEN)' : ''}`);
  const consoles = new ConsoleBroker({ ...(metrics ? { metrics } : {}), db: database.db, gateway, tokenWatch, schedulerId, log, authFailures, recordingMaxBytes: config.TAPIT_CONSOLE_RECORDING_MAX_BYTES, streamLimits, relay });
  // The dashboard pages' sockets, authorized by the session cookie and checked for Origin.
  const browserSockets = dashboardSockets({ db: database.db, signals, tokenWatch, log, streamLimits, followHub, consoles });
  dashboardSessionEnded = (sessionId) => browserSockets.sessionEnded(sessionId);
  server.on('upgrade', (request, socket, head) => {
    // Node drops its own error listener when it hands the socket over: a client reset must not
    // become an uncaught exception while a handler is still awaiting the database.
    socket.on('error', () => socket.destroy());
    let path: string;
    try {
      path = new URL(request.url ?? '/', 'http://x').pathname;
    } catch {
      return refuseUpgrade(socket, 400, 'VALIDATION_FAILED', 'request target is not a valid URL path');
    }
    const consoleMatch = /^\/v1\/tasks\/([^/]+)\/(console|exec)$/.exec(path);
    const dialBack = /^\/v1\/agents\/consoles\/([0-9a-f]{32})$/.exec(path);
    const copyDialBack = /^\/v1\/agents\/copies\/([0-9a-f]{32})$/.exec(path);
    const relayed = /^\/v1\/replicas\/(consoles|copies)\/([0-9a-f]{32})$/.exec(path);
    // Strangers first, before any token or database: a malformed task reference (never echoed),
    // then an address past its failed logins.
    if (consoleMatch && !isTaskReference(consoleMatch[1])) return refuseUpgrade(socket, 400, 'VALIDATION_FAILED', `task: ${TASK_REFERENCE_RULE}`, 'task');
    if (refuseIfRateLimited(authFailures, request, socket)) return;
    if (path === AGENT_WEBSOCKET_PATH) {
      metrics?.trackWebsocket('agent', socket);
      gateway.handleUpgrade(request, socket, head);
    } else if (consoleMatch) {
      const mode = consoleMatch[2] === 'exec' ? 'exec' : 'attach';
      metrics?.trackWebsocket(mode === 'exec' ? 'exec' : 'console', socket);
      void consoles.handleClientUpgrade(request, socket, head, consoleMatch[1], mode);
    } else if (dialBack) {
      metrics?.trackWebsocket('console_dial_back', socket);
      void consoles.handleAgentUpgrade(request, socket, head, dialBack[1]);
    } else if (copyDialBack) {
      metrics?.trackWebsocket('copy_dial_back', socket);
      void copies!.handleAgentUpgrade(request, socket, head, copyDialBack[1]);
    } else if (relayed) {
      metrics?.trackWebsocket('replica_relay', socket);
      if (relayed[1] === 'consoles') void consoles.handleReplicaUpgrade(request, socket, head, relayed[2]);
      else void copies!.handleReplicaUpgrade(request, socket, head, relayed[2]);
    } else if (browserSockets.handleUpgrade(request, socket, head, path)) {
      metrics?.trackWebsocket('dashboard', socket);
    } else refuseUpgrade(socket, 404, 'NOT_FOUND', `no websocket at ${path.length > 100 ? `${path.slice(0, 100)}…` : path}`);
  });
  loop.start();
  schedules.start();
  tokenWatch.start();
  const keyCleanup = startIdempotencyKeyCleanup(database.db, log);

  const port = (server.address() as AddressInfo).port;
  // Where the other replicas relay to this one's agents; written before any agent can be held here.
  await advertiseReplica(database.db, schedulerId, advertiseUrl(config, port));
  const host = config.TAPIT_HOST.includes(':') ? `[${config.TAPIT_HOST}]` : config.TAPIT_HOST;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      loop.stop();
      await schedules.stop();
      tokenWatch.stop();
      await keyCleanup.stop();
      // The attempts out end within their timeout and record how they went.
      await webhooks.close();
      authFailures.close();
      connections.close();
      consoles.close();
      browserSockets.close();
      copies?.close();
      await gateway.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await metricsServer?.close();
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await database.close();
    },
  };
}
