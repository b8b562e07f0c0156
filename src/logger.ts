import pino, { type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { LogFormat } from './config/config-types.js'

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

/**
 * The process's logger. `destination` (tests) receives JSON lines; otherwise stdout gets JSON,
 * or readable lines when the format is `pretty` (`auto`: when stdout is a terminal). Pretty
 * lines are formatted in this thread, synchronously: a development aid, not a hot path.
 */
export function createLogger(
  level: string,
  output: { format?: LogFormat; destination?: pino.DestinationStream } = {}
): Logger {
  const format = output.format ?? 'json'
  const readable =
    output.destination === undefined &&
    (format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true))
  const destination = readable
    ? pretty({
        colorize: process.stdout.isTTY === true,
        ignore: 'service,pid,hostname',
        sync: true
      })
    : output.destination
  return pino(
    {
      level,
      redact: { paths: redactedLogPaths, censor: '[redacted]' },
      base: { service: 'opas', pid: process.pid }
    },
    destination
  )
}
