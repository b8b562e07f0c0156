import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  formField,
  formTokenOf,
  readActivitySearch,
  readGrantSearch,
  readMoment,
  readNewTenantForm,
  readSignInForm,
  readTenantChange,
  safeNext,
  tenantFormProblem
} from './console-forms.js'

const ID = '0B9D4A3E-8C1F-4E2A-9B7D-6C5E4F3A2B10'
const OTHER = '5f0c2d1e-3a4b-4c5d-8e6f-7a8b9c0d1e2f'

test('a field is its text; missing, repeated or no form at all reads as empty', () => {
  assert.equal(formField({ a: 'x' }, 'a'), 'x')
  assert.equal(formField({ a: ['x', 'y'] }, 'a'), '')
  assert.equal(formField({}, 'a'), '')
  assert.equal(formField(undefined, 'a'), '')
  assert.equal(formTokenOf({ csrf: 'token' }), 'token')
  assert.equal(formTokenOf(undefined), undefined)
})

test('after sign-in, only a path of the console itself is followed', () => {
  assert.equal(safeNext('/grants?state=issued'), '/grants?state=issued')
  assert.equal(safeNext('/'), '/')
  for (const away of [
    '//evil.example/',
    '/\\evil.example',
    'https://evil.example/',
    '/sign-in',
    '/sign-out',
    '/a b',
    '',
    `/${'a'.repeat(501)}`
  ]) {
    assert.equal(safeNext(away), undefined, away)
  }
})

test('the sign-in form: the tenant id trimmed, the secret as typed, a safe next', () => {
  assert.deepEqual(
    readSignInForm({ tenantId: ` ${ID} `, apiSecret: ' secret ', next: '/overview' }),
    { tenantId: ID, apiSecret: ' secret ', next: '/overview' }
  )
  assert.deepEqual(readSignInForm({ next: '//evil.example' }), {
    tenantId: '',
    apiSecret: '',
    next: undefined
  })
})

test('the grant search: bounded wallet, a known state, UUIDs or nothing, after before before', () => {
  assert.deepEqual(
    readGrantSearch({
      wallet: `  https://wallet.example/${'a'.repeat(3000)}`,
      state: 'issued',
      tenant: ID,
      after: OTHER,
      before: OTHER
    }),
    {
      wallet: `https://wallet.example/${'a'.repeat(3000)}`.slice(0, 2048),
      status: 'issued',
      tenant: ID.toLowerCase(),
      after: OTHER,
      before: undefined
    }
  )
  assert.deepEqual(
    readGrantSearch({ state: 'ISSUED', tenant: 'nope', after: 'nope', before: OTHER }),
    { wallet: '', status: undefined, tenant: undefined, after: undefined, before: OTHER }
  )
})

test('a new tenant: an empty API secret is generated, empty IdP fields are none', () => {
  assert.deepEqual(
    readNewTenantForm({ id: ` ${ID} `, apiSecret: '', idpConsentUrl: ' ', idpSecret: '' }),
    {
      id: ID,
      input: { idpConsentUrl: null, idpSecret: null },
      values: { id: ID, idpConsentUrl: '', webhookUrl: '' }
    }
  )
  const full = readNewTenantForm({
    id: ID,
    apiSecret: 'a-secret',
    idpConsentUrl: ' https://idp.example/consent ',
    idpSecret: 'an-idp-secret',
    webhookUrl: ' https://wallet.example/hooks ',
    webhookSecret: 'a-webhook-secret'
  })
  assert.deepEqual(full.input, {
    apiSecret: 'a-secret',
    idpConsentUrl: 'https://idp.example/consent',
    idpSecret: 'an-idp-secret',
    webhookUrl: 'https://wallet.example/hooks',
    webhookSecret: 'a-webhook-secret'
  })
  assert.deepEqual(full.values, {
    id: ID,
    idpConsentUrl: 'https://idp.example/consent',
    webhookUrl: 'https://wallet.example/hooks'
  })
})

test('a tenant change: an empty API secret keeps it; the IdP secret kept, set or cleared', () => {
  const url = { idpConsentUrl: ' https://idp.example/ ' }
  assert.deepEqual(readTenantChange(url), {
    change: { idpConsentUrl: 'https://idp.example/', webhookUrl: null },
    values: { idpConsentUrl: 'https://idp.example/', webhookUrl: '' }
  })
  assert.deepEqual(readTenantChange({ apiSecret: 'new', idpSecretChange: 'keep' }).change, {
    idpConsentUrl: null,
    apiSecret: 'new',
    webhookUrl: null
  })
  assert.deepEqual(readTenantChange({ idpSecretChange: 'set', idpSecret: 's' }).change, {
    idpConsentUrl: null,
    idpSecret: 's',
    webhookUrl: null
  })
  assert.deepEqual(readTenantChange({ idpSecretChange: 'clear', idpSecret: 's' }).change, {
    idpConsentUrl: null,
    idpSecret: null,
    webhookUrl: null
  })
})

test('a tenant change: the webhook URL (empty: none), its secret kept, set or generated anew', () => {
  const url = { webhookUrl: ' https://wallet.example/hooks ' }
  assert.deepEqual(readTenantChange({ ...url, webhookSecret: 'typed' }), {
    change: { idpConsentUrl: null, webhookUrl: 'https://wallet.example/hooks' },
    values: { idpConsentUrl: '', webhookUrl: 'https://wallet.example/hooks' }
  })
  const set = { ...url, webhookSecretChange: 'set', webhookSecret: 's' }
  assert.deepEqual(readTenantChange(set).change, {
    idpConsentUrl: null,
    webhookUrl: 'https://wallet.example/hooks',
    webhookSecret: 's'
  })
  const generate = { ...url, webhookSecretChange: 'generate', webhookSecret: 's' }
  assert.deepEqual(readTenantChange(generate).change, {
    idpConsentUrl: null,
    webhookUrl: 'https://wallet.example/hooks',
    webhookSecret: null
  })
  assert.equal(
    readTenantChange({ webhookSecretChange: 'set' }).change,
    'Type the new webhook secret, or choose to keep it or to have a new one generated.'
  )
  assert.equal(
    readTenantChange({ webhookSecretChange: 'clear' }).change,
    'Choose whether to keep, set or generate the webhook secret.'
  )
})

test('an incomplete IdP secret choice is a sentence, not a change', () => {
  assert.equal(
    readTenantChange({ idpSecretChange: 'set' }).change,
    'Type the new IdP secret, or choose to keep or remove it.'
  )
  assert.equal(
    readTenantChange({ idpSecretChange: 'other' }).change,
    'Choose whether to keep, set or remove the IdP secret.'
  )
})

test("the tenant directory's refusal reads as a sentence naming the form's field", () => {
  assert.equal(tenantFormProblem({ field: 'id', rule: 'uuid' }), 'The tenant ID must be a UUID.')
  assert.equal(
    tenantFormProblem({ field: 'idpConsentUrl', rule: 'http_url' }),
    'The IdP consent URL must be an http or https URL.'
  )
  assert.match(
    tenantFormProblem({ field: 'apiSecret', rule: 'too_short', limit: 16 }),
    /^The API secret must be at least 16 characters\.$/
  )
})

test('a moment: a UTC date or date-time, one with its offset, or an age; nothing else', () => {
  const now = Date.parse('2026-12-06T12:00:00Z')
  const at = (value: string) => readMoment(value, now)?.toISOString()
  assert.equal(at('2026-12-01'), '2026-12-01T00:00:00.000Z')
  assert.equal(at('2026-12-01T09:30'), '2026-12-01T09:30:00.000Z')
  assert.equal(at('2026-12-01 09:30:15'), '2026-12-01T09:30:15.000Z')
  assert.equal(at('2026-12-01T09:30+02:00'), '2026-12-01T07:30:00.000Z')
  assert.equal(at('30m'), '2026-12-06T11:30:00.000Z')
  assert.equal(at('12h'), '2026-12-06T00:00:00.000Z')
  assert.equal(at('7d'), '2026-11-29T12:00:00.000Z')
  for (const bad of [
    'yesterday',
    '2026-02-30',
    '2026-13-01',
    '1969-12-31',
    '2026-12-01T25:00',
    '7w',
    ''
  ]) {
    assert.equal(at(bad), undefined, bad)
  }
})

test('the activity search: its filters read, or the sentence of what is wrong', () => {
  const now = Date.parse('2026-12-06T12:00:00Z')
  const read = (query: Record<string, unknown>, operator = true) =>
    readActivitySearch(query, { now, operator })
  const found = read({
    type: 'grant',
    grant: ID,
    wallet: ' https://w.example/a ',
    since: '1h',
    tenant: ID,
    before: '1234'
  })
  assert.equal(found.problem, undefined)
  if (found.problem === undefined) {
    assert.deepEqual(
      found.filter.typeIn?.every((t) => t.startsWith('grant.')),
      true
    )
    assert.equal(found.filter.grantId, ID.toLowerCase())
    assert.equal(found.filter.walletAddress, 'https://w.example/a')
    assert.equal(found.filter.since?.toISOString(), '2026-12-06T11:00:00.000Z')
    assert.equal(found.filter.tenantId, ID.toLowerCase())
    assert.equal(found.before, '1234')
  }
  // A tenant's tenant= is not read at all: the route scopes its trail.
  const tenant = read({ tenant: 'not-a-uuid' }, false)
  assert.equal(tenant.problem, undefined)
  assert.equal(tenant.problem === undefined && tenant.filter.tenantId, undefined)
  assert.deepEqual(read({}), {
    values: { type: '', grant: '', wallet: '', since: '', until: '', tenant: '' },
    filter: {},
    before: undefined
  })
  for (const [query, problem] of [
    [{ type: 'grant.exploded' }, /event type/],
    [{ grant: 'x' }, /grant ID/],
    [{ tenant: 'x' }, /tenant ID/],
    [{ since: 'x' }, /"Since" takes/],
    [{ until: 'x' }, /"Until" takes/],
    [{ since: '1h', until: '2h' }, /must be before/],
    [{ before: 'x' }, /damaged/],
    [{ before: OTHER }, /damaged/],
    [{ before: '0' }, /damaged/],
    [{ wallet: ['a', 'b'] }, /once/]
  ] as const) {
    assert.match(read(query).problem ?? '', problem, JSON.stringify(query))
  }
})
