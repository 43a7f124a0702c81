/** One JSON call to a scheduler's API, with its admin token unless another is given. */
export async function api(scheduler: { url: string; token: string }, method: string, path: string, body?: unknown, token = scheduler.token): Promise<{ status: number; body: any }> {
  const response = await fetch(`${scheduler.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** The same, for a call that must succeed with `status`: its body, or an error saying what came instead. */
export async function expectStatus(scheduler: { url: string; token: string }, status: number, method: string, path: string, body?: unknown): Promise<any> {
  const answer = await api(scheduler, method, path, body);
  if (answer.status !== status) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}
