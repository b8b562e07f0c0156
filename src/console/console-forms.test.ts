import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  formField,
  formTokenOf,
  readGrantSearch,
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
      values: { id: ID, idpConsentUrl: '' }
    }
  )
  const full = readNewTenantForm({
    id: ID,
    apiSecret: 'a-secret',
    idpConsentUrl: ' https://idp.example/consent ',
    idpSecret: 'an-idp-secret'
  })
  assert.deepEqual(full.input, {
    apiSecret: 'a-secret',
    idpConsentUrl: 'https://idp.example/consent',
    idpSecret: 'an-idp-secret'
  })
  assert.deepEqual(full.values, { id: ID, idpConsentUrl: 'https://idp.example/consent' })
})

test('a tenant change: an empty API secret keeps it; the IdP secret kept, set or cleared', () => {
  const url = { idpConsentUrl: ' https://idp.example/ ' }
  assert.deepEqual(readTenantChange(url), {
    change: { idpConsentUrl: 'https://idp.example/' },
    values: { idpConsentUrl: 'https://idp.example/' }
  })
  assert.deepEqual(readTenantChange({ apiSecret: 'new', idpSecretChange: 'keep' }).change, {
    idpConsentUrl: null,
    apiSecret: 'new'
  })
  assert.deepEqual(readTenantChange({ idpSecretChange: 'set', idpSecret: 's' }).change, {
    idpConsentUrl: null,
    idpSecret: 's'
  })
  assert.deepEqual(readTenantChange({ idpSecretChange: 'clear', idpSecret: 's' }).change, {
    idpConsentUrl: null,
    idpSecret: null
  })
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
