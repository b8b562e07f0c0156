import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
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
