import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { normalize } from 'node:path'
import { test } from 'node:test'
import { withConfigReference } from '../../scripts/update-readme.js'

test('README opens with the two commands and documents every setting as the code declares it', () => {
  const readme = readFileSync('README.md', 'utf8')
  const firstCommands = readme.slice(0, 1200)
  assert.match(firstCommands, /npm install && npm start/)
  assert.match(firstCommands, /npm test/)
  assert.equal(
    readme,
    withConfigReference(readme),
    'README config reference is stale: run `npm run docs`'
  )
})

test('every link of the README to a file stays inside the repository and finds its file', () => {
  const readme = readFileSync('README.md', 'utf8')
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!)
  const local = links.filter((l) => !/^(https?:|#|mailto:)/.test(l))
  assert.ok(local.length > 0)
  for (const link of local) {
    const path = link.split('#')[0]!
    assert.ok(
      !path.startsWith('/') && !normalize(path).startsWith('..'),
      `${link} leaves the repository`
    )
    assert.ok(existsSync(path), `${link} names no file`)
  }
  assert.doesNotMatch(readme, /\.\.\/shared/, 'the README names a folder outside the repository')
})

test('the README explains before the configuration table: primer, prerequisites, CLI first', () => {
  const readme = readFileSync('README.md', 'utf8')
  const at = (heading: string) => {
    const i = readme.indexOf(`\n## ${heading}\n`)
    assert.ok(i > 0, `no section "${heading}"`)
    return i
  }
  assert.match(readme, /RFC 9635\]\(https:\/\/www\.rfc-editor\.org\/rfc\/rfc9635\)/)
  assert.match(readme, /\(https:\/\/openpayments\.dev/)
  // The Node.js lines the README promises are those package.json's engines admits and CI runs.
  const engines = (
    JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }
  ).engines.node
  assert.equal(engines, '>=22')
  assert.match(readme, /Node\.js 22 or 24 \(the LTS lines opas is tested on/)
  const ci = readFileSync('.ci/run', 'utf8')
  assert.match(ci, /node_bin 22/)
  assert.match(ci, /node_bin 24/)
  const table = at('Configuration reference')
  for (const earlier of [
    'What this is',
    'Prerequisites',
    'Running opas',
    'The `opas` command',
    'Configuration'
  ]) {
    assert.ok(at(earlier) < table, `${earlier} comes before the configuration table`)
  }
  assert.ok(
    readme.indexOf('| Variable | Accepts |') > table,
    'the table is in the reference section'
  )
})
