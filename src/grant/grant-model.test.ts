import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AccessItem } from '../gnap/access.js'
import { GnapError } from '../gnap/gnap-error.js'
import type { GrantRequest, Jwk } from '../gnap/request-schemas.js'
import { clientIdentityOf } from '../gnap/client-identity.js'
import { assessGrantRequest, type InteractionPolicy } from './grant-model.js'

const ALICE = 'https://wallet.example/alice'
const defaults: InteractionPolicy = {
  incomingPaymentInteraction: false,
  quoteInteraction: false,
  listAllAccessInteraction: true
}

const incoming = (actions = ['create', 'read'], identifier?: string): AccessItem => ({
  type: 'incoming-payment',
  actions,
  ...(identifier !== undefined ? { identifier } : {})
})
const quote = (identifier?: string): AccessItem => ({
  type: 'quote',
  actions: ['create', 'read'],
  ...(identifier !== undefined ? { identifier } : {})
})
const outgoing = (limits?: AccessItem['limits'], identifier: string = ALICE): AccessItem => ({
  type: 'outgoing-payment',
  actions: ['create', 'read'],
  identifier,
  ...(limits ? { limits } : {})
})
const amount = (value: string) => ({ value, assetCode: 'USD', assetScale: 2 })

function request(access: AccessItem[] | undefined, extra: Partial<GrantRequest> = {}) {
  return {
    client: 'https://client.example/app',
    ...(access ? { access_token: { access } } : {}),
    ...extra
  } as GrantRequest
}
const subject = (id = ALICE) => ({ sub_ids: [{ id, format: 'uri' as const }] })

const assess = (access: AccessItem[] | undefined, policy = defaults, extra = {}) =>
  assessGrantRequest(request(access, extra), policy)
const interactive = (access: AccessItem[] | undefined, policy = defaults, extra = {}) =>
  assess(access, policy, extra).interactive

function refused(fn: () => unknown, description: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GnapError, String(err))
    assert.equal(err.status, 400)
    assert.equal(err.code, 'invalid_request')
    if (typeof description === 'string') assert.equal(err.description, description)
    else assert.match(err.description, description)
    return true
  })
}

describe('assessGrantRequest: when interaction is required (Rafiki §3.3)', () => {
  test('defaults: incoming payments and quotes are non-interactive', () => {
    assert.equal(interactive([incoming()]), false)
    assert.equal(interactive([quote()]), false)
    assert.equal(interactive([incoming(), quote()]), false)
    assert.equal(interactive([incoming(['create', 'complete', 'read-all', 'list'])]), false)
  })

  test('the access is returned as requested', () => {
    const access = [incoming(), quote()]
    assert.deepEqual(assess(access).access, access)
  })

  test('INCOMING_PAYMENT_INTERACTION and QUOTE_INTERACTION make their items interactive', () => {
    const ipi = { ...defaults, incomingPaymentInteraction: true }
    const qi = { ...defaults, quoteInteraction: true }
    assert.equal(interactive([incoming([], ALICE)], ipi), true)
    assert.equal(interactive([quote()], ipi), false)
    assert.equal(interactive([quote(ALICE)], qi), true)
    assert.equal(interactive([incoming()], qi), false)
    assert.equal(interactive([incoming(), quote(ALICE)], qi), true)
  })

  test('list-all: interactive when LIST_ALL_ACCESS_INTERACTION is on (the default), else not', () => {
    const listAll = incoming(['list-all'], ALICE)
    assert.equal(interactive([listAll]), true)
    assert.equal(interactive([listAll], { ...defaults, listAllAccessInteraction: false }), false)
    // `read-all` never forces interaction, and `list` is not `list-all`.
    assert.equal(interactive([incoming(['read-all', 'list'])]), false)
  })

  test('policy table: incoming, quote, both × every flag combination × list-all', () => {
    for (const ipi of [false, true])
      for (const qi of [false, true])
        for (const lai of [false, true])
          for (const withListAll of [false, true])
            for (const kind of ['incoming', 'quote', 'both'] as const) {
              const policy = {
                incomingPaymentInteraction: ipi,
                quoteInteraction: qi,
                listAllAccessInteraction: lai
              }
              const inc = incoming(withListAll ? ['read', 'list-all'] : ['read'], ALICE)
              const access =
                kind === 'incoming'
                  ? [inc]
                  : kind === 'quote'
                    ? [quote(ALICE)]
                    : [inc, quote(ALICE)]
              const incomingNeeds = ipi || (lai && withListAll)
              const expected =
                kind === 'incoming' ? incomingNeeds : kind === 'quote' ? qi : incomingNeeds || qi
              assert.equal(
                interactive(access, policy),
                expected,
                JSON.stringify({ policy, kind, withListAll })
              )
            }
  })

  test('outgoing payments are always interactive, whatever the flags', () => {
    const none = { incomingPaymentInteraction: false, quoteInteraction: false }
    assert.equal(interactive([outgoing()], { ...none, listAllAccessInteraction: false }), true)
    assert.equal(interactive([outgoing({ interval: 'R/2022-01-01T00:00:00Z/P1D' })]), true)
    assert.equal(interactive([incoming(), outgoing()]), true)
  })

  test('any subject is interactive, alone or with skippable access', () => {
    assert.equal(interactive(undefined, defaults, { subject: subject() }), true)
    assert.equal(interactive([incoming()], defaults, { subject: subject() }), true)
  })
})

describe('assessGrantRequest: refusals (400 invalid_request)', () => {
  test('subject or access_token required', () => {
    refused(() => assess(undefined), 'subject or access_token required')
    refused(() => assess([]), 'subject or access_token required')
  })

  test('identifier required for every item that needs consent, not only the first', () => {
    const qi = { ...defaults, quoteInteraction: true, incomingPaymentInteraction: true }
    refused(() => assess([incoming(['list-all'])]), 'access identifier required')
    refused(() => assess([incoming([], '')], qi), 'access identifier required')
    refused(() => assess([outgoing(undefined, '')]), 'access identifier required')
    // The first item names its account; the second does not.
    refused(() => assess([incoming(['read'], ALICE), quote()], qi), 'access identifier required')
    refused(() => assess([outgoing(), incoming(['list-all'])]), 'access identifier required')
    // Items that do not need consent may omit it.
    assert.equal(interactive([outgoing(), incoming()]), true)
  })

  test('only one access amount allowed', () => {
    refused(
      () => assess([outgoing({ debitAmount: amount('1'), receiveAmount: amount('1') })]),
      'only one access amount allowed'
    )
  })

  test('amounts are unsigned 64-bit: 2^64-1 is accepted, 2^64 refused', () => {
    for (const key of ['debitAmount', 'receiveAmount'] as const) {
      assert.equal(interactive([outgoing({ [key]: amount('18446744073709551615') })]), true)
      refused(() => assess([outgoing({ [key]: amount('18446744073709551616') })]), /64-bit/)
      refused(() => assess([outgoing({ [key]: amount('99999999999999999999') })]), /64-bit/)
    }
  })

  test('the limits interval must be an ISO 8601 repeating interval', () => {
    assert.equal(interactive([outgoing({ interval: 'R12/2022-08-24T14:15:22Z/P1M' })]), true)
    for (const interval of ['P1M', 'R12/2022-13-24T14:15:22Z/P1M', 'R/P0D/2022-01-01', 'x']) {
      refused(() => assess([outgoing({ interval })]), /repeating interval/)
    }
  })

  test('a subject id must be an http(s) URL', () => {
    assert.equal(interactive(undefined, defaults, { subject: subject('http://w.example/a') }), true)
    for (const id of ['alice', '$wallet.example/alice', 'mailto:alice@example.com', 'ftp://w/a']) {
      refused(
        () => assess(undefined, defaults, { subject: subject(id) }),
        'subject id must be a valid https url'
      )
    }
  })
})

describe('clientIdentityOf: the three client forms', () => {
  const jwk: Jwk = { kid: 'k1', alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x: 'abc' }

  test('a wallet address string (deprecated form)', () => {
    assert.deepEqual(clientIdentityOf('https://client.example/app'), {
      kind: 'walletAddress',
      walletAddress: 'https://client.example/app'
    })
  })

  test('{walletAddress}', () => {
    assert.deepEqual(clientIdentityOf({ walletAddress: 'https://client.example/app' }), {
      kind: 'walletAddress',
      walletAddress: 'https://client.example/app'
    })
  })

  test('{jwk} (directed identity)', () => {
    assert.deepEqual(clientIdentityOf({ jwk }), { kind: 'jwk', jwk })
  })
})
