import type { SettingsOf } from './setting-spec.js'
import { integer, text, url } from './value-parsers.js'

/** Signed webhooks: the audit trail's events told to the wallet's backend (issue 28). */
export const webhookSettings: SettingsOf<
  | 'webhookUrl'
  | 'webhookSignatureSecret'
  | 'webhookTimeoutMs'
  | 'webhookMaxRetries'
  | 'webhookRetryDelayMs'
  | 'webhookRetentionDays'
> = {
  webhookUrl: {
    env: 'WEBHOOK_URL',
    parser: url(['http:', 'https:'], 'http(s) URL'),
    default: undefined,
    defaultText: 'unset: no webhooks, but to tenants with a URL of their own',
    description:
      "The wallet's backend, told of each grant's and token's change (approved, rejected, " +
      'issued, revoked, rotated) and of tenants created, changed and deleted: a signed POST ' +
      "as Rafiki's backend sends its webhooks, after the change has committed, retried until " +
      "a 200. A tenant with a webhook URL of its own receives its grants' events there instead.",
    origin: 'opas'
  },
  webhookSignatureSecret: {
    env: 'WEBHOOK_SIGNATURE_SECRET',
    parser: text('secret string'),
    default: undefined,
    secret: true,
    generatedOnlyWith: 'webhookUrl',
    description:
      'HMAC-SHA256 key of the `Rafiki-Signature` header of webhooks sent to WEBHOOK_URL (as ' +
      "Rafiki's SIGNATURE_SECRET): give it to the receiver to check each one. Generated when " +
      'WEBHOOK_URL is set and it is not (outside production).',
    origin: 'opas'
  },
  webhookTimeoutMs: {
    env: 'WEBHOOK_TIMEOUT_MS',
    parser: integer(100, 120_000),
    default: 2000,
    description:
      "How long one attempt waits for the receiver (Rafiki's WEBHOOK_TIMEOUT): to connect, for " +
      "the answer's headers, and for each part of its body; past it, the attempt failed and is " +
      'retried.',
    origin: 'opas'
  },
  webhookMaxRetries: {
    env: 'WEBHOOK_MAX_RETRIES',
    parser: integer(0, 100),
    default: 10,
    description:
      'Retries of a webhook not answered 200 before it is given up (the console can still try ' +
      'it again). With the defaults, the last is about 2.4 hours after the first attempt.',
    origin: 'opas'
  },
  webhookRetryDelayMs: {
    env: 'WEBHOOK_RETRY_DELAY_MS',
    parser: integer(10, 3_600_000),
    default: 10_000,
    description:
      'The wait before the first retry (Rafiki waits 10 s too); it doubles at each retry ' +
      'after, up to an hour.',
    origin: 'opas'
  },
  webhookRetentionDays: {
    env: 'WEBHOOK_RETENTION_DAYS',
    parser: integer(1, 36500),
    default: 30,
    description:
      "Days the record of a delivered or given-up webhook is kept for the console's listing " +
      'before the retention job deletes it (one waiting for a retry is kept).',
    origin: 'opas'
  }
}
