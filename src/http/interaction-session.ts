import type { FastifyReply, FastifyRequest } from 'fastify'
import { interactionUrl } from '../interaction/interaction-url.js'

const COOKIE = 'opas_interaction'

/**
 * The browser session of an interaction: a signed cookie (no server-side store, so no Redis)
 * scoped to the interaction's own path. One browser can therefore run several interactions at
 * once (Rafiki kept one per browser, weakness §12.25), and only the browser that started an
 * interaction can finish it.
 */
export function createInteractionSession(config: {
  authServerUrl: string
  interactionExpirySeconds: number
  interactionCookieSameSite: 'lax' | 'none' | undefined
}) {
  const publicUrl = new URL(config.authServerUrl)
  const basePath = publicUrl.pathname.replace(/\/$/, '')
  const sameSite = config.interactionCookieSameSite ?? 'lax'
  // SameSite=None is only honoured on secure cookies.
  const secure = publicUrl.protocol === 'https:' || sameSite === 'none'
  const path = (id: string, nonce: string) => interactionUrl(basePath, id, nonce)

  return {
    begin(reply: FastifyReply, id: string, nonce: string): void {
      reply.setCookie(COOKIE, id, {
        path: path(id, nonce),
        signed: true,
        httpOnly: true,
        sameSite,
        secure,
        maxAge: config.interactionExpirySeconds
      })
    },
    matches(req: FastifyRequest, id: string): boolean {
      const raw = req.cookies[COOKIE]
      if (raw === undefined) return false
      const unsigned = req.unsignCookie(raw)
      return unsigned.valid && unsigned.value === id
    },
    end(reply: FastifyReply, id: string, nonce: string): void {
      reply.clearCookie(COOKIE, { path: path(id, nonce), httpOnly: true, sameSite, secure })
    }
  }
}

export type InteractionSession = ReturnType<typeof createInteractionSession>
