// The REST API as the console calls it: every call carries the cluster token the user gave
// (kept in sessionStorage, so it is gone when the tab closes), as the Bearer header.

const TOKEN_KEY = 'sluice.clusterToken';

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A refused or failed call: `status` is the HTTP status (0 when the coordinator did not answer), `body` its JSON answer. */
export class ApiError extends Error {
  constructor(status, message, body = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

export function apiGet(path) {
  return call('GET', path);
}

export function apiPost(path, body = {}) {
  return call('POST', path, body);
}

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  const token = storedToken();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, `the coordinator did not answer (${error.message})`);
  }
  const text = await response.text();
  let answer = {};
  try {
    answer = text === '' ? {} : JSON.parse(text);
  } catch {
    answer = { error: text };
  }
  if (!response.ok) throw new ApiError(response.status, answer.error ?? `${method} ${path}: HTTP ${response.status}`, answer);
  return answer;
}
