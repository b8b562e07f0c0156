import assert from 'node:assert/strict'
import { connect, createServer, type Server } from 'node:net'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { postgresOnly } from '../helpers/requirements.js'
import {
  localServerEnv,
  runOpas,
  stoppedOpas,
  tempFolder,
  waitForHealth
} from '../helpers/opas-process.js'
import { createTestDatabase, freePort } from '../helpers/test-server.js'

/**
 * Issue 26 (3): an external database that does not answer yet (compose starts services in any
 * order) is waited for, each attempt logged with the URL's password hidden, up to
 * DATABASE_WAIT_SECONDS; then a clear exit. A stop signal ends the wait at once.
 */

const root = tempFolder('opas-database-wait-')
after(() => rmSync(root, { recursive: true, force: true }))

/** The PostgreSQL server's address, as one that is not listening yet, with a password in it. */
async function laterDatabase(): Promise<{ url: string; port: number; target: URL }> {
  const database = await createTestDatabase()
  after(() => database?.drop())
  const target = new URL(database!.url)
  const port = await freePort()
  const url = new URL(target)
  url.host = `127.0.0.1:${port}`
  url.username = 'postgres'
  url.password = 'not-for-logs'
  return { url: url.href, port, target }
}

/** A TCP relay from `port` to `target`: the database "coming up" on the address opas waits on. */
async function relay(port: number, target: URL): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname)
    client.pipe(upstream).pipe(client)
    const end = () => (client.destroy(), upstream.destroy())
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done))
  after(() => new Promise((done) => server.close(done)))
  return server
}

test(
  'a start waits for a database that comes up later, saying so without its password',
  { skip: postgresOnly() },
  async () => {
    const { url, port, target } = await laterDatabase()
    const env: Record<string, string> = {
      ...(await localServerEnv(join(root, 'later'))),
      AUTH_DATABASE_URL: url
    }
    const server = runOpas(['start'], env)
    const [line] = await server.printed(/^.*does not answer yet.*$/m)
    assert.match(line, /AUTH_DATABASE_URL=postgresql:\/\/postgres:redacted@127\.0\.0\.1:\d+\//)
    assert.match(line, /ECONNREFUSED/)
    await relay(port, target)
    await waitForHealth(`http://127.0.0.1:${env.AUTH_PORT}/readyz`, server)
    await stoppedOpas(server)
    assert.doesNotMatch(server.output(), /not-for-logs/)
  }
)

test(
  'a database that never answers ends the start after DATABASE_WAIT_SECONDS, naming it',
  { skip: postgresOnly() },
  async () => {
    const { url, port } = await laterDatabase()
    const env: Record<string, string> = {
      ...(await localServerEnv(join(root, 'never'))),
      AUTH_DATABASE_URL: url,
      DATABASE_WAIT_SECONDS: '1'
    }
    const server = runOpas(['start'], env)
    assert.equal(await server.exited, 1, server.output())
    await server.closed
    assert.match(
      server.output(),
      new RegExp(
        `^opas: the database at AUTH_DATABASE_URL=postgresql://postgres:redacted@127\\.0\\.0\\.1:${port}/\\S+ ` +
          'did not answer within 1 s \\(DATABASE_WAIT_SECONDS; \\d+ attempt\\(s\\)\\): connect ECONNREFUSED',
        'm'
      )
    )
    assert.doesNotMatch(server.output(), /not-for-logs|\n\s+at /)
  }
)

test(
  'SIGTERM while waiting for the database stops the start at once',
  { skip: postgresOnly() },
  async () => {
    const { url } = await laterDatabase()
    const env: Record<string, string> = {
      ...(await localServerEnv(join(root, 'stopped'))),
      AUTH_DATABASE_URL: url
    }
    const server = runOpas(['start'], env)
    await server.printed(/does not answer yet/)
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 143, server.output())
    await server.closed
    assert.match(server.output(), /stopped before the server started/)
  }
)
