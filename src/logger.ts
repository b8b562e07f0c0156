import pino, { type Logger } from 'pino'

/**
 * Structured logs. opas never logs headers or bodies itself; these paths are redacted anyway so
 * that a future `{ req }` or `{ headers }` field cannot leak a token, signature, cookie or secret.
 */
export const redactedLogPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.signature',
  'req.headers["signature-input"]',
  'req.headers["x-idp-secret"]',
  'headers.authorization',
  'headers.cookie',
  'headers.signature',
  'headers["signature-input"]',
  'headers["x-idp-secret"]',
  'res.headers["set-cookie"]'
]

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: redactedLogPaths, censor: '[redacted]' },
      base: { service: 'opas', pid: process.pid }
    },
    destination
  )
}
