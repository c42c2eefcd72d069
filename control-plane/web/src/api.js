// Calls to the control plane's REST API with the session cookie, repeating the session's
// CSRF token (the sh_csrf cookie) on every change, as the API requires.

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)sh_csrf=([^;]+)/);
  return m ? m[1] : '';
}

/** An error the API answered with: its stable code, message and, for validation, field. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `the control plane answered ${status}`);
    this.status = status;
    this.code = e.code || 'unknown';
    this.field = e.field;
  }
}

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf();
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);
export const put = (path, body) => api('PUT', path, body);

/** Bytes in a person's units (decimal, as plans are priced). */
export function bytes(n) {
  if (n === null || n === undefined) return 'unlimited';
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function when(rfc3339) {
  if (!rfc3339) return '—';
  return new Date(rfc3339).toLocaleString();
}
