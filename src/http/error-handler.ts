import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import { pageHeaders, renderNoticePage } from '../consent/consent-page.js'
import { noticePage as consoleNoticePage } from '../console/pages/layout.js'
import { ClientKeyError } from '../client-keys/index.js'
import { GnapError, type GnapErrorCode } from '../gnap/gnap-error.js'
import { SignatureError, type SignatureErrorReason } from '../http-signatures/index.js'
import { isDatabaseUnavailable } from '../storage/db-errors.js'
import { noteRefusal, type Refusal } from './refusal-log.js'
import { acceptsHtml } from './route-auth.js'

// Rafiki's descriptions are kept as the first words; the detail after the colon says what failed.
export const signatureDescriptions: Record<SignatureErrorReason, string> = {
  missing_headers: 'invalid signature headers: Signature and Signature-Input are required',
  malformed: 'invalid signature headers: malformed signature fields',
  missing_component: 'invalid signature headers: a required component is not covered',
  digest_missing: 'invalid signature headers: Content-Digest is required with a body',
  digest_mismatch: 'invalid signature headers: Content-Digest does not match the body',
  digest_unsupported: 'invalid signature headers: Content-Digest needs sha-256 or sha-512',
  no_keyid: 'invalid signature input',
  stale: 'invalid signature headers: signature created outside the accepted window',
  bad_algorithm: 'invalid signature',
  bad_signature: 'invalid signature',
  replayed: 'invalid signature: this signature was already used'
}

interface Translated {
  status: number
  code: GnapErrorCode
  description: string
  /** For the log line only: a finer cause than the description. */
  reason?: string
  headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The one place an error becomes an HTTP answer: always the GNAP envelope (RFC 9635 §3.6),
 * never a stack trace or a driver message.
 */
export function translateError(err: unknown, log: FastifyRequest['log']): Translated {
  if (err instanceof GnapError) return err
  if (err instanceof SignatureError) {
    return {
      status: 401,
      code: 'invalid_client',
      description: signatureDescriptions[err.reason],
      reason: err.reason
    }
  }
  // Logged where the fetch failed (client-keys); answered as Rafiki answers.
  if (err instanceof ClientKeyError) {
    return {
      status: 400,
      code: 'invalid_client',
      description: 'could not determine client',
      reason: err.reason
    }
  }
  // PostgreSQL cannot store U+0000 in text (22021) or jsonb (22P05): the statement failed and
  // nothing was written; the request, not the server, is at fault.
  const sqlState = (err as { code?: unknown }).code
  if (sqlState === '22021' || sqlState === '22P05') {
    return {
      status: 400,
      code: 'invalid_request',
      description: 'request contains a character that cannot be stored (U+0000)'
    }
  }
  const fastifyError = err as Partial<FastifyError>
  if (fastifyError.validation) {
    return {
      status: 400,
      code: 'invalid_request',
      description: fastifyError.message ?? 'invalid request'
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own client errors (body too large, bad URL, bad media type): safe to describe.
    return {
      status,
      code: 'invalid_request',
      description: fastifyError.message ?? 'invalid request'
    }
  }
  // Down, restarting or out of connections: the request may succeed when repeated (RFC 9110
  // §15.6.4). Logged at warn: the outage itself is logged once, where it is noticed.
  if (isDatabaseUnavailable(err)) {
    log.warn({ err }, 'database unavailable')
    return {
      status: 503,
      code: 'request_denied',
      description: 'the database is unavailable: try again in a moment',
      reason: 'database_unavailable',
      headers: { 'retry-after': '1' }
    }
  }
  log.error({ err }, 'unhandled error')
  return { status: 500, code: 'request_denied', description: 'internal server error' }
}

/**
 * The error envelope every listener answers with (RFC 9635 §3.6), `{"error":{"code","description"}}`, its
 * refusal noted for the request's log line. `code` is a GNAP code except on the service API,
 * which is not GNAP and has a few of its own.
 */
export const sendErrorEnvelope = (
  reply: FastifyReply,
  status: number,
  code: string,
  description: string,
  reason?: string
) => sendJsonRefusal(reply, status, { code, description, reason }, { error: { code, description } })

/** A JSON answer refusing the request, the refusal noted for the request's log line. */
function sendJsonRefusal(reply: FastifyReply, status: number, refusal: Refusal, body: object) {
  noteRefusal(reply.request, refusal)
  return reply.code(status).type('application/json; charset=utf-8').send(body)
}

export const sendGnapError = (
  reply: FastifyReply,
  status: number,
  code: GnapErrorCode,
  description: string,
  reason?: string
) => sendErrorEnvelope(reply, status, code, description, reason)

/** A refusal a person reads: a plain page, its refusal noted for the request's log line. */
export function sendNoticePage(
  reply: FastifyReply,
  status: number,
  page: { title: string; message: string },
  refusal: Refusal
) {
  noteRefusal(reply.request, refusal)
  return reply.code(status).headers(pageHeaders).send(renderNoticePage(page))
}

/**
 * A GraphQL refusal (GraphQL over HTTP): `{"errors":[{"message","extensions":{"code"}}]}`, what
 * a GraphQL client reads, its refusal noted for the request's log line.
 */
export const sendGraphqlError = (
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  reason?: string
) =>
  sendJsonRefusal(
    reply,
    status,
    { code, description: message, reason },
    { errors: [{ message, extensions: { code } }] }
  )

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * The methods each declared path answers, so that a known path asked with another method is
 * told so (405 with `Allow`, RFC 9110 §15.5.6) rather than that it does not exist.
 */
function declaredMethods(app: FastifyInstance): (path: string) => string[] {
  const router = FindMyWay({ ignoreTrailingSlash: true })
  app.addHook('onRoute', (route) => {
    // CORS answers a preflight on any path (`OPTIONS *`): not a method of every path.
    if (route.url === '*' || route.url === '/*') return
    for (const method of [route.method].flat()) {
      try {
        router.on(method as HTTPMethod, route.url, () => {})
      } catch {
        // Declared twice (a HEAD Fastify adds beside a GET): once is enough.
      }
    }
  })
  return (path) => METHODS.filter((method) => router.find(method, path) !== null)
}

/**
 * Titles of the page a browser gets for a refused interaction link (the answer is a page for
 * whoever accepts HTML there, the GNAP JSON error for any other caller).
 */
/** The pages of an interaction link that cannot go on, by the refusal's (Rafiki's) words. */
const reopenedLinkPages: Partial<Record<string, { title: string; message: string }>> = {
  'invalid interaction': {
    title: 'This link was already used',
    message:
      'The request for access behind this link has been answered, or is over. Go back to ' +
      'the app: it knows the outcome, and can ask again if needed.'
  },
  'interaction expired': {
    title: 'This link has expired',
    message:
      'The request for access behind this link waited too long. Go back to the app and start again.'
  }
}

function pageFor(status: number, code: GnapErrorCode, description: string) {
  if (status >= 500) {
    return {
      title: 'Something went wrong',
      message: 'The server could not handle this request. Try again in a moment.'
    }
  }
  if (code === 'unknown_interaction') {
    return {
      title: 'Unknown link',
      message:
        'This link does not lead to a request for access: it may be mistyped, or the request ' +
        'is over. Go back to the app and start again.'
    }
  }
  // An interaction link opened again (interaction-routes.ts): said in a person's words.
  const reopened = code === 'invalid_interaction' ? reopenedLinkPages[description] : undefined
  if (reopened) return reopened
  return {
    title: 'This request cannot continue',
    message: `The request for access could not continue (${description}). Go back to the app and start again.`
  }
}

/**
 * The error and not-found handlers of a listener. `consolePages`: the admin listener serving the
 * operator console, where a browser that opens an unknown address gets a page, not JSON.
 */
export function installErrorHandling(
  app: FastifyInstance,
  options: { consolePages?: boolean } = {}
): void {
  const methodsOf = declaredMethods(app)
  app.setErrorHandler((err, req, reply) => {
    const { status, code, description, reason, headers } = translateError(err, req.log)
    if (headers) reply.headers(headers)
    // A GraphQL client reads `errors`, also when the request itself is malformed.
    if (req.routeOptions.config?.graphqlErrors === true) {
      const graphqlCode = status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST'
      return sendGraphqlError(reply, status, graphqlCode, description, reason)
    }
    const browserPages = req.routeOptions.config?.browserPages
    if (browserPages === 'console') {
      // The console's pages answer a page to anyone (its forms and links are all it serves).
      return sendConsolePage(
        reply,
        status,
        { code, description, reason },
        {
          title: status >= 500 ? 'Something went wrong' : 'Request not accepted',
          message:
            status >= 500
              ? 'The server could not handle this request. Nothing was changed; try again in a moment.'
              : `The request was refused (${description}). Nothing was changed.`
        }
      )
    }
    if (browserPages === true && acceptsHtml(req)) {
      return sendNoticePage(reply, status, pageFor(status, code, description), {
        code,
        description,
        reason
      })
    }
    return sendGnapError(reply, status, code, description, reason)
  })
  app.setNotFoundHandler((req, reply) => {
    const allowed = methodsOf((req.raw.url ?? '/').split('?')[0]!)
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '))
      return sendGnapError(reply, 405, 'invalid_request', `method ${req.method} not allowed here`)
    }
    if (options.consolePages && req.method === 'GET' && acceptsHtml(req)) {
      return sendConsolePage(
        reply,
        404,
        { code: 'invalid_request', description: 'Not Found' },
        { title: 'Page not found', message: 'There is no console page at this address.' }
      )
    }
    return sendGnapError(reply, 404, 'invalid_request', 'Not Found')
  })
}

/** A console page saying why the request was refused, its refusal noted for the log line. */
function sendConsolePage(
  reply: FastifyReply,
  status: number,
  refusal: Refusal,
  notice: { title: string; message: string }
) {
  noteRefusal(reply.request, refusal)
  const page = consoleNoticePage({ ...notice, link: { href: '/', text: 'Back to the console' } })
  return reply.code(status).headers(page.headers).send(page.html)
}
