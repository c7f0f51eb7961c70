/**
 * A small path router: routes are tried in order, a path that matches no route is 404
 * `NOT_FOUND`, a known path with another method is 405 `METHOD_NOT_ALLOWED` with `Allow`.
 */
import { HttpError } from './errors.js'

/** One path and its handler per method. `pattern` captures the path parameters. */
export interface Route<H> {
  pattern: RegExp
  methods: Readonly<Partial<Record<string, H>>>
}

/** One path segment captured as a parameter (`{id}` in the route's label). */
export const PARAM = '([^/]+)'

/** The pattern that matches `path` and nothing else; groups in `path` capture parameters. */
export function exact(path: string): RegExp {
  return new RegExp(`^${path}$`)
}

/** The handler of a request and the captured path parameters. */
export interface Match<H> {
  handler: H
  params: string[]
  /** The route's pattern as a label (`/api/v1/processes/{id}`): for metrics and spans. */
  label: string
}

/**
 * Finds the handler for `method` and `pathname` (no query string).
 *
 * @throws HttpError `NOT_FOUND` or `METHOD_NOT_ALLOWED`.
 */
export function matchRoute<H>(routes: readonly Route<H>[], method: string, pathname: string): Match<H> {
  for (const route of routes) {
    const found = route.pattern.exec(pathname)
    if (found === null) continue
    const handler = route.methods[method]
    if (handler === undefined) {
      const allow = Object.keys(route.methods).join(', ')
      throw new HttpError('METHOD_NOT_ALLOWED', `Method ${method} not allowed on ${pathname}`, {
        Allow: allow,
      })
    }
    return { handler, params: found.slice(1), label: routeLabel(route.pattern) }
  }
  throw new HttpError('NOT_FOUND', `No route for ${pathname}`)
}

/** The label of the route `pathname` matches, or `unmatched`; never the path itself. */
export function labelOf<H>(routes: readonly Route<H>[], pathname: string): string {
  const route = routes.find((r) => r.pattern.test(pathname))
  return route === undefined ? 'unmatched' : routeLabel(route.pattern)
}

const labels = new WeakMap<RegExp, string>()

// `^/api/v1/processes/([^/]+)/(stdout|stderr|output)$` -> `/api/v1/processes/{id}/{stream}`
function routeLabel(pattern: RegExp): string {
  let label = labels.get(pattern)
  if (label === undefined) {
    label = pattern.source
      .replace(/^\^|\$$/g, '')
      .replace(/\\\//g, '/')
      .replace(/\((stdout\|stderr\|output)\)/g, '{stream}')
      .replace(/\([^)]*\)/g, '{id}')
    labels.set(pattern, label)
  }
  return label
}

/** The path part of a request target such as `/api/v1/processes?x=1`. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/'
  const query = target.indexOf('?')
  return query === -1 ? target : target.slice(0, query)
}
