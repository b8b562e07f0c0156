import type { FastifyInstance } from 'fastify'
import secureJson from 'secure-json-parse'
import { invalidRequest } from '../gnap/gnap-error.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received: Content-Digest is checked over these bytes (RFC 9530). */
    rawBody?: Buffer
  }
}

/**
 * Every listener speaks JSON only. The raw bytes are kept for the digest check, an empty body
 * is "no body" (a continuation poll), and JSON is parsed with prototype-poisoning protection.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body
    if (body.length === 0) return done(null, undefined)
    try {
      done(
        null,
        secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' })
      )
    } catch {
      done(invalidRequest('request body is not valid JSON'), undefined)
    }
  })
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body
    if (body.length === 0) return done(null, undefined)
    // HTTP's 415 Unsupported Media Type, in the GNAP envelope.
    done(invalidRequest('request body must be application/json', 415), undefined)
  })
}
