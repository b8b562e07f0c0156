import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, test } from 'node:test'

/**
 * The layout rules of docs/architecture.md, read off the sources: each domain folder under src/
 * builds on others without any folder depending back on itself through them (no import loop
 * between folders), the HTTP edge reaches the database only through services (no store
 * import, no SQL in src/http), and only a table's owning folder writes it.
 */

const SRC = 'src'

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sourceFiles(path, out)
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

/** Relative imports of a file (static, dynamic and type-only), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [
    ...text.matchAll(/\bfrom\s+'(\.[^']+)'/g),
    ...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)
  ].map((m) => m[1]!)
  return specifiers.map((s) => normalize(join(dirname(file), s)))
}

/** The folder of a path under src/ (files at src/'s root are the composition root, '.'). */
const folderOf = (path: string) => {
  const parts = relative(SRC, path).split(/[\\/]/)
  return parts.length > 1 ? parts[0]! : '.'
}

/** Folder → the folders its files import. */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file)
    const edges = graph.get(from) ?? new Set<string>()
    graph.set(from, edges)
    for (const target of importsOf(file)) {
      const to = folderOf(target)
      if (to !== from && !relative(SRC, target).startsWith('..')) edges.add(to)
    }
  }
  return graph
}

/** Every cycle's folders, found by depth-first search (one path per back edge). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const found: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (node: string) => {
    state.set(node, 'open')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next])
      else if (state.get(next) === undefined) visit(next)
    }
    path.pop()
    state.set(node, 'done')
  }
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node)
  return found
}

describe('source layout', () => {
  test('the cycle finder sees a loop (self-check)', () => {
    const looped = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])]
    ])
    assert.deepEqual(cycles(looped), [['a', 'b', 'c', 'a']])
    assert.deepEqual(cycles(new Map([['a', new Set(['b'])]])), [])
  })

  test('no import loop between the folders of src/', () => {
    const graph = folderGraph()
    assert.ok(graph.has('grant') && graph.has('http'), 'the sources were read')
    const found = cycles(graph)
    assert.deepEqual(
      found.map((c) => c.join(' → ')),
      [],
      'folders that import each other, directly or through others'
    )
  })

  test('src/http imports no store and runs no SQL: it asks the services', () => {
    for (const file of sourceFiles(join(SRC, 'http'))) {
      for (const target of importsOf(file)) {
        assert.doesNotMatch(target, /-store\.js$/, `${file} imports ${target}`)
      }
      assert.doesNotMatch(
        readFileSync(file, 'utf8'),
        /\.query\s*[<(]|\bselect\b[^;\n]*\bfrom\s+\w|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b/i,
        `${file} runs SQL`
      )
    }
  })

  test("only a table's owning folder writes it (insert, update, delete)", () => {
    // The owner of each table (docs/architecture.md, "Domains and who may use whom"). Another
    // domain's statement may read a table in a join, or write it through a fragment its owner
    // exports, never by writing the table's name itself.
    const owners: Record<string, string> = {
      tenants: 'tenant',
      grants: 'grant',
      subjects: 'grant',
      accesses: 'access',
      interactions: 'interaction',
      access_tokens: 'token',
      signature_replays: 'replay',
      console_sessions: 'console',
      events: 'audit'
    }
    const writes = /\b(?:insert\s+into|update|delete\s+from)\s+(\w+)/gi
    const found: string[] = []
    for (const file of sourceFiles(SRC)) {
      if (folderOf(file) === 'storage') continue // migrations create and move every table
      for (const [, table] of readFileSync(file, 'utf8').matchAll(writes)) {
        const owner = owners[table!.toLowerCase()]
        if (owner && owner !== folderOf(file)) found.push(`${file} writes ${table}`)
      }
    }
    assert.ok(Object.keys(owners).length > 0)
    assert.deepEqual(found, [], 'writes to a table outside its owning folder')
  })
})
