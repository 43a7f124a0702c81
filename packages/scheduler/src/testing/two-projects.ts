import { createTestApp } from './test-app.js';

/**
 * The app of the dashboard's page tests, which check what each token may see and change: an app
 * in each of two projects (`default/default/web`, `shop/default/cart`), and a way to make tokens.
 */
export async function twoProjectsApp(...args: Parameters<typeof createTestApp>) {
  const created = await createTestApp(...args);
  const { call } = created;
  await call('POST', '/v1/projects/default/stages/default/apps', { name: 'web', image: 'busybox:latest' });
  await call('POST', '/v1/projects', { name: 'shop' });
  await call('POST', '/v1/projects/shop/stages/default/apps', { name: 'cart', image: 'busybox:latest' });
  /** A new token's secret. */
  const token = async (name: string, role: string, project?: string) => (await call('POST', '/v1/tokens', { name, role, project })).body.token as string;
  return { ...created, token };
}
