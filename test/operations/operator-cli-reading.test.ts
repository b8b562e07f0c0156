import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { test } from 'node:test'
import { useGrantsToOperate } from './operator-cli-grants.js'

/**
 * `opas grants list` and `opas grants show` as an operator reads them: a grant's status in words
 * (a grant whose token the app revoked is inactive), and a table that fits the terminal.
 */

const given = useGrantsToOperate('opas-operator-reading-')

/**
 * `opas <args>` in a pseudo-terminal `columns` wide (util-linux's script), as an operator runs it
 * at a terminal: its stdout is a TTY of that width.
 */
async function atTerminal(columns: number, ...args: string[]): Promise<string> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
  const command = [process.execPath, '--import', 'tsx', 'src/cli/opas.ts', ...args]
    .map(quote)
    .join(' ')
  const { stdout } = await promisify(execFile)(
    'script',
    ['-qec', `stty cols ${columns} rows 50; exec ${command}`, '/dev/null'],
    { env: { PATH: process.env.PATH ?? '', DATA_DIR: given.dataDir } }
  )
  return stdout
}

test('a token the app revoked: the grant reads inactive, and --state takes the status words', async () => {
  const ids = async (...state: string[]) =>
    (
      JSON.parse(
        (await given.opas('grants', 'list', '--json', ...state.flatMap((s) => ['--state', s])))
          .output
      ) as { id: string }[]
    ).map((g) => g.id)
  assert.deepEqual(await ids('inactive'), [given.tokenRevoked.id])
  assert.deepEqual(await ids('INACTIVE'), [given.tokenRevoked.id], 'in any case')
  assert.ok(!(await ids('issued')).includes(given.tokenRevoked.id), 'issued: holds a live token')
  assert.ok((await ids('FINALIZED')).includes(given.tokenRevoked.id), 'a raw state still filters')
  assert.ok(
    (await ids('pending', 'inactive')).includes(given.tokenRevoked.id),
    'repeated: any of them'
  )
  assert.deepEqual(await ids('pending'), [])

  const shown = await given.opas('grants', 'show', given.tokenRevoked.id)
  assert.equal(shown.code, 0, shown.output)
  assert.match(shown.output, /^status {3}inactive: issued, but the app holds no live token/m)
  assert.match(
    shown.output,
    /^state {4}FINALIZED \(ISSUED\)$/m,
    'the raw state, for Rafiki operators'
  )
  assert.match(shown.output, /^interactions {2}none: this grant needed no consent$/m)
  assert.match(shown.output, /^tokens\n {2}1 {2}Issued \S+Z; revoked \S+Z$/m)
  assert.ok(!shown.output.includes(given.tokenRevoked.token), 'never a token value')
  const json = JSON.parse(
    (await given.opas('grants', 'show', '--json', given.tokenRevoked.id)).output
  ) as {
    status: string
    tokens: { revokedAt: string | null }[]
  }
  assert.equal(json.status, 'inactive')
  assert.equal(json.tokens.length, 1)
  assert.ok(json.tokens[0]!.revokedAt)
})

test('grants list at a terminal fits its width; piped, it prints every cell whole', async () => {
  const grants = JSON.parse((await given.opas('grants', 'list', '--json')).output) as {
    id: string
    client: string
  }[]
  for (const columns of [80, 120, 200]) {
    const output = await atTerminal(columns, 'grants', 'list')
    const lines = output.split(/\r?\n/).filter(Boolean)
    const widest = Math.max(...lines.map((l) => [...l].length))
    assert.ok(widest <= columns, `${widest} > ${columns}:\n${output}`)
    for (const g of grants) assert.ok(output.includes(g.id), `the whole id of ${g.id} to copy`)
    if (columns === 80) {
      assert.match(output, /left out to fit 80 columns: created, allows, tenant/)
    }
  }
  const piped = await given.opas('grants', 'list')
  assert.ok(piped.output.includes(grants[0]!.client), 'piped: the client whole')
  assert.doesNotMatch(piped.output, /…|left out/)
})
