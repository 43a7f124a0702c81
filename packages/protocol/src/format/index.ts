/*
 * `@tapit/protocol/format`: how tapit shows its objects, in the CLI's text and on the dashboard's
 * pages alike. Type imports only from the schemas: loading this loads no zod.
 */
export * from './text.js';
export * from './tasks.js';
export * from './schedules.js';
export * from './agents.js';
export * from './audit.js';
