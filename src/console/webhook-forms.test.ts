import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readRetryForm, readWebhookSearch } from './webhook-forms.js'

const GRANT = '0B9D4A3E-8C1F-4E2A-9B7D-6C5E4F3A2B10'

test('the Webhooks filters: a state from the list, a grant id lowercased, an event id cursor', () => {
  assert.deepEqual(readWebhookSearch({ state: 'failed', grant: ` ${GRANT} `, before: '42' }), {
    values: { state: 'failed', grant: GRANT },
    filter: { state: 'failed', grantId: GRANT.toLowerCase() },
    before: '42'
  })
  assert.deepEqual(readWebhookSearch({}), {
    values: { state: '', grant: '' },
    filter: {},
    before: undefined
  })
})

test('a Webhooks filter it cannot read is a sentence, never a guess', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ state: 'lost' }, /Choose a state/],
    [{ grant: 'not-a-uuid' }, /not a UUID/],
    [{ before: '0' }, /page link is damaged/],
    [{ before: "1' or 1=1" }, /page link is damaged/],
    [{ state: ['failed', 'pending'] }, /each filter once/]
  ]
  for (const [query, problem] of cases) {
    const search = readWebhookSearch(query)
    assert.match(search.problem ?? '', problem, JSON.stringify(query))
  }
  // What was typed is shown again (the page escapes it).
  assert.deepEqual(readWebhookSearch({ grant: '<b>' }).values, { state: '', grant: '<b>' })
})

test('the retry form returns to its filters; a filter it cannot read is dropped', () => {
  assert.deepEqual(readRetryForm({ state: 'failed', grant: GRANT, csrf: 'x' }), {
    state: 'failed',
    grant: GRANT
  })
  assert.deepEqual(readRetryForm({ state: 'nonsense' }), { state: '', grant: '' })
  assert.deepEqual(readRetryForm(undefined), { state: '', grant: '' })
})
