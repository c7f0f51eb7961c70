// The API client of the console: the bearer token (kept in this tab's sessionStorage
// only) and JSON calls under /api/v1. The page itself holds no secret.

const KEY = 'sandproc.token'

/**
 * Moves a `#token=…` fragment into sessionStorage and out of the address bar (and so out
 * of this tab's history and of screenshots). Says whether there was one.
 */
export function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash)
  if (match === null) return false
  try {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]))
  } catch {
    sessionStorage.setItem(KEY, match[1])
  }
  history.replaceState(null, '', location.pathname + location.search)
  return true
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
}

/** An error answer of the API: `status` and the body's `code` and `error`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`)
    this.status = status
    this.code = body?.code ?? 'HTTP_ERROR'
  }
}

/** Fired on window whenever the server refuses the token. */
export const UNAUTHORIZED = 'sandproc:unauthorized'

/**
 * A request under /api/v1 with the bearer header. Resolves with the parsed JSON (null for
 * 204), or with the Response itself when `raw` is set (event streams); rejects with an
 * ApiError for an error status.
 */
export async function api(path, { method = 'GET', body, headers = {}, signal, raw = false } = {}) {
  const h = { ...headers, authorization: `Bearer ${token.get() ?? ''}` }
  let payload
  if (body !== undefined) {
    h['content-type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const res = await fetch(`/api/v1${path}`, { method, headers: h, body: payload, signal, cache: 'no-store' })
  if (res.status === 401) window.dispatchEvent(new CustomEvent(UNAUTHORIZED))
  if (!res.ok) {
    let parsed = null
    try {
      parsed = await res.json()
    } catch {
      // Not JSON: the status says enough.
    }
    throw new ApiError(res.status, parsed)
  }
  if (raw) return res
  if (res.status === 204) return null
  return res.json()
}

/** The API's name for a process: its pid (any run's pid reaches a managed process). */
export function processPath(proc) {
  return `/processes/${encodeURIComponent(String(proc.pid))}`
}
