import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ClientKeyError } from '../client-keys/index.js'
import { GnapError, gnapErrorBody, type GnapErrorCode } from '../gnap/gnap-error.js'
import { SignatureError, type SignatureErrorReason } from '../http-signatures/index.js'

// Rafiki's descriptions are kept as the first words; the detail after the colon says what failed.
const signatureDescriptions: Record<SignatureErrorReason, string> = {
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
  headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The one place an error becomes an HTTP answer: always the GNAP envelope (RFC 9635 §3.6),
 * never a stack trace or a driver message.
 */
export function translateError(err: unknown, log: FastifyRequest['log']): Translated {
  if (err instanceof GnapError) return err
  if (err instanceof SignatureError) {
    return { status: 401, code: 'invalid_client', description: signatureDescriptions[err.reason] }
  }
  // Logged where the fetch failed (client-keys); answered as Rafiki answers.
  if (err instanceof ClientKeyError) {
    return { status: 400, code: 'invalid_client', description: 'could not determine client' }
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
  log.error({ err }, 'unhandled error')
  return { status: 500, code: 'request_denied', description: 'internal server error' }
}

export function sendGnapError(
  reply: FastifyReply,
  status: number,
  code: GnapErrorCode,
  description: string
) {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(gnapErrorBody(code, description))
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const { status, code, description, headers } = translateError(err, req.log)
    if (headers) reply.headers(headers)
    return sendGnapError(reply, status, code, description)
  })
  app.setNotFoundHandler((_req, reply) => sendGnapError(reply, 404, 'invalid_request', 'Not Found'))
}
