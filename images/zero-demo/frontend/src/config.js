// Z_* values are replaced at build time by scripts/build.js (esbuild `define`).
const trimSlashes = (s) => String(s || '').replace(/^\/+|\/+$/g, '');

/** Base URL of the back end; "" means the page's own origin. */
export const ENDPOINT = String(process.env.Z_ENDPOINT || '').replace(/\/+$/, '');
/** Route prefix of the app pages, e.g. "zo" -> /zo/login/index. */
export const ROUTE = trimSlashes(process.env.Z_ROUTE) || 'zo';
/** Application name. */
export const APP = process.env.Z_APP || 'zero-demo';

export const LOGIN_PATH = `/${ROUTE}/login/index`;

export function apiUrl(uri) {
  return `${ENDPOINT}${uri}`;
}

/** Zero's STOMP websocket and the demo's destinations on it. */
export const STOMP_PATH = '/api/web-socket/stomp';
export const STOMP_TICKS = '/topic/ticks';
export const STOMP_ECHOES = '/topic/echo';
export const STOMP_ECHO = '/app/echo';

/** ws(s)://…/api/web-socket/stomp: from Z_ENDPOINT, or from the page's own origin when it is "". */
export function stompUrl() {
  if (ENDPOINT) return `${ENDPOINT.replace(/^http/, 'ws')}${STOMP_PATH}`;
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}${STOMP_PATH}`;
}
