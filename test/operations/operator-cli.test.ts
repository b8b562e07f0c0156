import assert from 'node:assert/strict'
import { test } from 'node:test'
import { introspectsActive, startedOpas, stoppedOpas } from '../helpers/opas-process.js'
import { useGrantsToOperate } from './operator-cli-grants.js'

/**
 * `opas grants …` as an operator runs it on the embedded database, between two runs of the
 * server and beside a running one: what a client was granted is found, read in words and
 * revoked, and the server honours it. Reading a grant's status is in operator-cli-reading.test.ts,
 * the tenant commands and the refusals of bad input in operator-cli-tenants.test.ts: each file
 * has a data directory of its own, and stays well within the runner's time for a file.
 */

const given = useGrantsToOperate('opas-operator-')

test('grants: list, filter by wallet address, show in words, revoke; the server honours it', async () => {
  const table = await given.opas('grants', 'list')
  assert.equal(table.code, 0, table.output)
  assert.equal(table.output.match(/│ issued +│/g)?.length, 2, table.output)
  assert.equal(table.output.match(/│ inactive +│/g)?.length, 1, table.output)
  assert.doesNotMatch(table.output, /FINALIZED|ISSUED/, 'the status words, not the raw states')
  assert.match(
    table.output,
    /Receive payments: create incoming payments, see the incoming payments it made on http:\/\/127\.0\.0\.1:\d+\/alice/
  )

  const alice = JSON.parse(
    (await given.opas('grants', 'list', '--json', '--wallet', `${given.walletsUrl}/alice`)).output
  ) as { id: string; state: string }[]
  assert.equal(alice.length, 1)
  const id = alice[0]!.id

  const shown = await given.opas('grants', 'show', id)
  assert.equal(shown.code, 0, shown.output)
  assert.match(shown.output, /^client {3}http:\/\/127\.0\.0\.1:\d+\/shop$/m)
  assert.match(shown.output, /^ {2}Receive payments: create incoming payments/m)

  const revoked = await given.opas('grants', 'revoke', id)
  assert.equal(revoked.code, 0, revoked.output)
  assert.match(revoked.output, new RegExp(`revoked grant ${id}`))

  const server = await startedOpas(given.env)
  try {
    assert.equal(
      await introspectsActive(given.env, given.tokens[1]!),
      false,
      "the revoked grant's token"
    )
    assert.equal(
      await introspectsActive(given.env, given.tokens[0]!),
      true,
      "the other grant's token"
    )
  } finally {
    await stoppedOpas(server)
  }
})

test('beside a running server: a grant revoked from the command line is inactive at once', async () => {
  const server = await startedOpas(given.env)
  try {
    assert.equal(await introspectsActive(given.env, given.tokens[0]!), true)
    const live = JSON.parse(
      (await given.opas('grants', 'list', '--json', '--state', 'issued')).output
    ) as { id: string; status: string }[]
    assert.equal(live.length, 1, JSON.stringify(live))
    assert.equal(live[0]!.status, 'issued')
    const revoked = await given.opas('grants', 'revoke', live[0]!.id)
    assert.equal(revoked.code, 0, revoked.output)
    assert.equal(
      await introspectsActive(given.env, given.tokens[0]!),
      false,
      'revoked through the running server'
    )
  } finally {
    await stoppedOpas(server)
  }
})
