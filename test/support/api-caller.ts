/** A JSON call to the scheduler's API as `token`; a status of 300 or more throws with the answer. */
export function apiCaller(baseUrl: string, defaultToken: string) {
  return async (method: string, path: string, body?: unknown, token = defaultToken) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}
