import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fitTable } from './fit-table.js'
import { grantColumns } from './grant-lines.js'

// The columns `grants list` fits: the table the operator sees.
const columns = grantColumns
const id = '0193b1f2-7c4d-7a8e-9f10-2b3c4d5e6f70'
const tenant = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'
const client = 'https://wallet.example.com/accounts/corner-shop-payments'
const allows = [
  'Send payments: create outgoing payments, read them on https://wallet.example.com/alice (up to USD 5.00 each month)',
  'Receive payments: create incoming payments'
].join('\n')
const rows = [[id, 'inactive', '2026-12-06T05:52:32Z', client, allows, tenant]]
const lines = (text: string) => text.split('\n')
const widest = (text: string) => Math.max(...lines(text).map((l) => [...l].length))

describe('fitTable', () => {
  test('without a width (not a terminal): every cell whole, nothing left out', () => {
    const { text, leftOut } = fitTable(columns, rows)
    assert.deepEqual(leftOut, [])
    for (const whole of [id, tenant, client, ...allows.split('\n')]) {
      assert.ok(text.includes(whole), whole)
    }
    assert.ok(widest(text) > 200, 'the wide layout of a pipe')
  })

  for (const width of [80, 100, 120, 160, 200]) {
    test(`at ${width} columns: within the width, the id whole, long cells cut with an ellipsis`, () => {
      const { text, leftOut } = fitTable(columns, rows, width)
      assert.ok(widest(text) <= width, `${widest(text)} > ${width}:\n${text}`)
      assert.ok(text.includes(id), 'the id stays whole, to copy into grants show')
      assert.ok(text.includes('inactive'), 'the status stays whole')
      assert.match(text, /…/)
      for (const head of leftOut) assert.doesNotMatch(lines(text)[1]!, new RegExp(` ${head} `))
    })
  }

  test('the least needed columns are left out first, and named', () => {
    assert.deepEqual(fitTable(columns, rows, 80).leftOut, ['created', 'allows', 'tenant'])
    assert.deepEqual(fitTable(columns, rows, 100).leftOut, ['created', 'tenant'])
    assert.deepEqual(fitTable(columns, rows, 110).leftOut, ['tenant'])
    assert.deepEqual(fitTable(columns, rows, 120).leftOut, [])
    const at120 = fitTable(columns, rows, 120).text
    assert.ok(at120.includes('a1b2c3d4…'), 'the tenant cut to its first characters')
    assert.ok(at120.includes('Send payments'), 'each line of a cell cut on its own')
    assert.ok(at120.includes('Receive paymen'))
  })

  test('the tenant is cut to its least before the others are cut', () => {
    const at160 = fitTable(columns, rows, 160).text
    assert.ok(at160.includes('a1b2c3d4…'))
    assert.ok(at160.includes('https://wallet.example.com/accoun'), 'the client keeps the room')
  })

  test('a table narrower than the width is left as it is', () => {
    const small = fitTable(
      columns,
      [[id, 'issued', '2026-12-06T05:52:32Z', 'https://w.example/s', 'Read', tenant]],
      300
    )
    assert.deepEqual(
      small,
      fitTable(columns, [
        [id, 'issued', '2026-12-06T05:52:32Z', 'https://w.example/s', 'Read', tenant]
      ])
    )
  })
})
