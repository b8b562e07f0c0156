import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, test } from 'node:test'

import { listenerNames } from '../../src/app.js'

/**
 * The layout rules of docs/architecture.md, read off the sources, one test per rule and named
 * as the page words it: the five apps, what each folder builds on (the page's table, parsed, so
 * the page and this test cannot drift), stores across folders, table owners, the retention job,
 * transactions, the pure model, grant over interactions and tokens, the HTTP edge, and no
 * import loop between folders.
 */

const DOC = readFileSync('docs/architecture.md', 'utf8')

const SRC = 'src'

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sourceFiles(path, out)
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

/** Relative imports of a file (static, dynamic, type-only and bare), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [
    ...text.matchAll(/\bfrom\s+'(\.[^']+)'/g),
    ...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g),
    ...text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)
  ].map((m) => m[1]!)
  return specifiers.map((s) => normalize(join(dirname(file), s)))
}

/**
 * Relative imports of a file, re-exports (`export … from`) and dynamic `import()` included: the
 * path under src/, and whether only types come.
 */
function importStatementsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8')
  const at = (specifier: string) => normalize(join(dirname(file), specifier))
  return [
    ...[...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^']*?\bfrom\s+'(\.[^']+)'/gm)].map(
      (m) => ({ target: at(m[2]!), typeOnly: m[1] !== undefined })
    ),
    ...[...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => ({
      target: at(m[1]!),
      typeOnly: false
    }))
  ]
}

/** The path of a file under src/ ('grant/grant-store.ts'), from an import's `.js` path. */
const underSrc = (path: string) => relative(SRC, path).replace(/\.js$/, '.ts')

/**
 * The "Builds on" column of the page's table: folder → the folders (every file) and the files
 * (that file alone, 'storage/db-errors.ts', or 'server.ts' at src/'s root) it may import.
 */
function buildsOnTable(): Map<string, { folders: Set<string>; files: Set<string> }> {
  const rows = new Map<string, { folders: Set<string>; files: Set<string> }>()
  for (const line of DOC.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    const folder = /^`([\w-]+)\/`$/.exec(cells[1] ?? '')?.[1]
    if (!folder || cells.length !== 5) continue
    const names = [...cells[3]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)
    rows.set(folder, {
      folders: new Set(names.filter((n) => !n.endsWith('.ts'))),
      files: new Set(names.filter((n) => n.endsWith('.ts')))
    })
  }
  return rows
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

  test('five Fastify apps (auth, interaction, introspection, admin, service)', () => {
    const written = /src\/app\.ts: (\w+) Fastify apps \(([^)]*)\)/.exec(DOC)
    assert.ok(written, 'docs/architecture.md names the apps')
    const counts = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight']
    assert.deepEqual(written[2]!.split(/,\s*/), [...listenerNames])
    assert.equal(written[1], counts[listenerNames.length - 1])
  })

  test('each folder builds only on what its row lists ("Builds on")', () => {
    const table = buildsOnTable()
    assert.ok(table.has('grant') && table.has('storage'), 'the table was read')
    const found: string[] = []
    const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory())
    for (const folder of folders) if (!table.has(folder)) found.push(`src/${folder}/ has no row`)
    for (const file of sourceFiles(SRC)) {
      const from = folderOf(file)
      if (from === '.') continue // the composition root wires everything
      const row = table.get(from)
      if (!row) continue
      for (const target of importsOf(file)) {
        const to = folderOf(target)
        if (to === from || relative(SRC, target).startsWith('..')) continue
        if (row.folders.has(to) || row.files.has(underSrc(target))) continue
        found.push(`${file} imports ${underSrc(target)}`)
      }
    }
    assert.deepEqual(found, [], 'imports that docs/architecture.md does not list')
  })

  test("another folder asks that folder's service, never its store", () => {
    // Across folders a store is imported only by another store (for a fragment it splices
    // in) or for a type (the shape of a row).
    const found: string[] = []
    for (const file of sourceFiles(SRC)) {
      for (const { target, typeOnly } of importStatementsOf(file)) {
        if (!/-store\.js$/.test(target) || folderOf(target) === folderOf(file)) continue
        if (typeOnly || /-store\.ts$/.test(file)) continue
        found.push(`${file} imports ${underSrc(target)}`)
      }
    }
    assert.deepEqual(found, [], 'stores of another folder used outside a store')
  })

  test('the retention job owns no table and writes none', () => {
    const writes = /\b(?:insert\s+into|update\s+\w+\s+set|delete\s+from)\b|\.query\s*[<(]/i
    for (const file of sourceFiles(join(SRC, 'retention'))) {
      assert.doesNotMatch(readFileSync(file, 'utf8'), writes, `${file} writes a table`)
    }
  })

  test('the service opens the transaction, the store never does', () => {
    for (const file of sourceFiles(SRC).filter((f) => /-store\.ts$/.test(f))) {
      assert.doesNotMatch(
        readFileSync(file, 'utf8'),
        /\.transaction\s*[<(]|['`"]\s*(?:begin|start\s+transaction|commit|rollback)\b/i,
        `${file} opens or ends a transaction`
      )
    }
  })

  test('pure model: no I/O, time passed in', () => {
    const model = [
      'src/grant/grant-lifecycle.ts',
      'src/grant/grant-model.ts',
      'src/interaction/interaction-lifecycle.ts'
    ]
    for (const file of model) {
      assert.ok(DOC.includes(file), `docs/architecture.md names ${file} in the pure model`)
      const text = readFileSync(file, 'utf8')
      assert.doesNotMatch(text, /\bfrom\s+'(?!\.)[^']+'/, `${file} imports a package`)
      assert.doesNotMatch(text, /\bnew Date\(\s*\)|Date\.now\(/, `${file} reads the clock`)
      for (const target of importsOf(file)) {
        const path = underSrc(target)
        const pure =
          path.startsWith('gnap/') ||
          model.includes(join(SRC, path)) ||
          path === 'grant/interval.ts'
        assert.ok(pure, `${file} imports ${path}`)
      }
    }
  })

  test('the grant domain builds on interactions and tokens, never the other way round', () => {
    const graph = folderGraph()
    assert.ok(graph.get('grant')?.has('interaction') && graph.get('grant')?.has('token'))
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      [...(graph.get(from) ?? [])].some(
        (next) => next === to || (!seen.has(next) && (seen.add(next), reaches(next, to, seen)))
      )
    assert.equal(reaches('interaction', 'grant'), false, 'interaction reaches grant')
    assert.equal(reaches('token', 'grant'), false, 'token reaches grant')
  })

  test('no import loop between folders', () => {
    const graph = folderGraph()
    assert.ok(graph.has('grant') && graph.has('http'), 'the sources were read')
    const found = cycles(graph)
    assert.deepEqual(
      found.map((c) => c.join(' → ')),
      [],
      'folders that import each other, directly or through others'
    )
  })

  test('http/: routes, hooks, the error handler; no store, no SQL', () => {
    for (const file of sourceFiles(join(SRC, 'http'))) {
      for (const target of importsOf(file)) {
        assert.doesNotMatch(target, /-store\.js$/, `${file} imports ${target}`)
        const path = underSrc(target)
        if (path.startsWith('storage/'))
          assert.equal(path, 'storage/db-errors.ts', `${file} imports ${path}`)
      }
      assert.doesNotMatch(
        readFileSync(file, 'utf8'),
        /\.query\s*[<(]|\bselect\b[^;\n]*\bfrom\s+\w|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b/i,
        `${file} runs SQL`
      )
    }
  })

  test('no file writes a table outside its owning folder', () => {
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
    // The one exception the page writes down: the Rafiki import's bulk copy, the only file that
    // names the table it writes at run time.
    for (const file of sourceFiles(SRC)) {
      if (folderOf(file) === 'storage' || file === join(SRC, 'rafiki-import', 'import-store.ts'))
        continue
      if (/\b(?:insert\s+into|update|delete\s+from)\s+\$\{/i.test(readFileSync(file, 'utf8'))) {
        found.push(`${file} writes a table named at run time`)
      }
    }
    assert.ok(Object.keys(owners).length > 0)
    assert.deepEqual(found, [], 'writes to a table outside its owning folder')
  })
})
