import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAddressPolicy } from './address-policy.js'
import { checkUrl, createSafeFetch, SafeFetchError } from './safe-fetch.js'
import type { Resolver, SafeFetchErrorReason, SafeFetchOptions } from './safe-fetch.js'

interface Local {
  url: string
  port: number
  connections: () => number
  requests: IncomingMessage[]
  close: () => Promise<void>
}

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1'
): Promise<Local> {
  const requests: IncomingMessage[] = []
  let connections = 0
  const server: Server = createServer((req, res) => {
    requests.push(req)
    handler(req, res)
  })
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    connections: () => connections,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

const base: SafeFetchOptions = {
  allowHttp: true,
  allowPrivate: true,
  timeoutMs: 2000,
  maxBodyBytes: 10_000
}

async function rejectsWith(p: Promise<unknown>, reason: SafeFetchErrorReason) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SafeFetchError, String(err))
    assert.equal(err.reason, reason, `${err.message} (cause: ${String(err.cause)})`)
    return true
  })
}

test('fetches JSON with Accept and User-Agent, and does not keep cookies across redirects', async () => {
  const srv = await serve((req, res) => {
    if (req.url === '/start') {
      res.writeHead(302, { location: '/doc', 'set-cookie': 'sid=1' })
      return res.end()
    }
    json(res, 200, { ok: true })
  })
  const f = createSafeFetch(base)
  try {
    assert.deepEqual(await f.getJson(`${srv.url}/start`), { ok: true })
    const last = srv.requests.at(-1)
    assert.equal(last?.headers.accept, 'application/json')
    assert.equal(last?.headers['user-agent'], 'opas')
    assert.equal(last?.headers.cookie, undefined)
  } finally {
    await f.close()
    await srv.close()
  }
})

test('non-2xx is bad_status; invalid JSON is invalid_document', async () => {
  const srv = await serve((req, res) => {
    if (req.url === '/404') return json(res, 404, { error: 'x' })
    if (req.url === '/500') return json(res, 500, {})
    res.end('{not json')
  })
  const f = createSafeFetch(base)
  try {
    await rejectsWith(f.getJson(`${srv.url}/404`), 'bad_status')
    await rejectsWith(f.getJson(`${srv.url}/500`), 'bad_status')
    await rejectsWith(f.getJson(`${srv.url}/bad`), 'invalid_document')
  } finally {
    await f.close()
    await srv.close()
  }
})

test('URL rules: scheme, credentials, garbage are invalid_url', async () => {
  const f = createSafeFetch({ ...base, allowHttp: false })
  try {
    await rejectsWith(f.getJson('http://wallet.example/alice'), 'invalid_url')
    await rejectsWith(f.getJson('ftp://wallet.example/alice'), 'invalid_url')
    await rejectsWith(f.getJson('https://user:pass@wallet.example/alice'), 'invalid_url')
    await rejectsWith(f.getJson('https://user@wallet.example/alice'), 'invalid_url')
    await rejectsWith(f.getJson('not a url'), 'invalid_url')
  } finally {
    await f.close()
  }
})

test('checkUrl re-checks a redirect target: scheme downgrade and private literals', () => {
  const policy = createAddressPolicy({ allowPrivate: false })
  const from = new URL('https://wallet.example/alice')
  const check = (loc: string, allowHttp = false) => checkUrl(loc, { allowHttp, policy }, from)
  assert.equal(check('/bob').href, 'https://wallet.example/bob')
  assert.throws(() => check('http://wallet.example/bob'), { reason: 'invalid_url' })
  assert.throws(() => check('https://10.0.0.1/'), { reason: 'forbidden_address' })
  assert.throws(() => check('http://[::1]/', true), { reason: 'forbidden_address' })
  assert.throws(() => check('https://169.254.169.254/latest'), { reason: 'forbidden_address' })
  assert.throws(() => check('https://0x7f.1/'), { reason: 'forbidden_address' })
})

test('private addresses are refused without contacting the server', async () => {
  const srv = await serve((_req, res) => json(res, 200, {}))
  const v6 = await serve((_req, res) => json(res, 200, {}), '::1').catch(() => undefined)
  const f = createSafeFetch({ ...base, allowPrivate: false })
  try {
    await rejectsWith(f.getJson(`http://127.0.0.1:${srv.port}/x`), 'forbidden_address')
    await rejectsWith(f.getJson(`http://localhost:${srv.port}/x`), 'forbidden_address')
    await rejectsWith(f.getJson(`http://[::1]:${v6?.port ?? srv.port}/`), 'forbidden_address')
    await rejectsWith(f.getJson(`http://[::ffff:127.0.0.1]:${srv.port}/`), 'forbidden_address')
    await rejectsWith(f.getJson(`http://[::ffff:7f00:1]:${srv.port}/`), 'forbidden_address')
    await rejectsWith(f.getJson(`http://2130706433:${srv.port}/`), 'forbidden_address')
    await rejectsWith(f.getJson('http://169.254.169.254/latest/meta-data/'), 'forbidden_address')
    await rejectsWith(f.getJson('http://[fd00:ec2::254]/latest/meta-data/'), 'forbidden_address')
    assert.equal(srv.connections(), 0)
    assert.equal(v6?.connections() ?? 0, 0)
  } finally {
    await f.close()
    await srv.close()
    await v6?.close()
  }
})

test('host names go through the injected resolver, and every answer is checked', async () => {
  const srv = await serve((req, res) => json(res, 200, { host: req.headers.host }))
  const asked: string[] = []
  const answers: Record<string, string[]> = {
    'wallet.test': ['127.0.0.1'],
    'mixed.test': ['127.0.0.1', '10.0.0.1'],
    localhost: ['127.0.0.1']
  }
  const resolve: Resolver = async (host) => {
    asked.push(host)
    return (answers[host] ?? []).map((address) => ({ address, family: 4 }))
  }
  // 127.0.0.1 stands in for a public address; every other private address stays refused.
  const f = createSafeFetch({
    ...base,
    allowPrivate: false,
    allowedCidrs: ['127.0.0.1/32'],
    resolve
  })
  try {
    const doc = await f.getJson(`http://wallet.test:${srv.port}/`)
    assert.deepEqual(doc, { host: `wallet.test:${srv.port}` })
    assert.equal(srv.connections(), 1)
    await rejectsWith(f.getJson(`http://mixed.test:${srv.port}/`), 'forbidden_address')
    await rejectsWith(f.getJson(`http://unknown.test:${srv.port}/`), 'fetch_failed')
    assert.deepEqual(asked, ['wallet.test', 'mixed.test', 'unknown.test'])
    assert.equal(srv.connections(), 1)
  } finally {
    await f.close()
    await srv.close()
  }
})

test('a redirect to a private address is refused at every hop', async () => {
  const target = await serve((_req, res) => json(res, 200, { reached: true }), '127.0.0.2')
  const srv = await serve((req, res) => {
    const location =
      req.url === '/to-literal'
        ? `${target.url}/`
        : req.url === '/to-name'
          ? `http://internal.test:${target.port}/`
          : `http://[::ffff:127.0.0.2]:${target.port}/`
    res.writeHead(302, { location })
    res.end()
  })
  const asked: string[] = []
  const resolve: Resolver = async (host) => {
    asked.push(host)
    return [{ address: host === 'internal.test' ? '127.0.0.2' : '127.0.0.1', family: 4 }]
  }
  const f = createSafeFetch({
    ...base,
    allowPrivate: false,
    allowedCidrs: ['127.0.0.1/32'],
    resolve
  })
  try {
    await rejectsWith(f.getJson(`${srv.url}/to-literal`), 'forbidden_address')
    await rejectsWith(f.getJson(`${srv.url}/to-name`), 'forbidden_address')
    await rejectsWith(f.getJson(`${srv.url}/to-mapped`), 'forbidden_address')
    assert.deepEqual(asked, ['internal.test'])
    assert.equal(srv.requests.length, 3)
    assert.equal(target.connections(), 0)
  } finally {
    await f.close()
    await srv.close()
    await target.close()
  }
})

test('at most 3 redirects are followed; more is bad_status', async () => {
  const srv = await serve((req, res) => {
    const n = Number(req.url?.slice('/hop/'.length))
    if (n === 0) return json(res, 200, { done: true })
    res.writeHead(307, { location: `/hop/${n - 1}` })
    res.end()
  })
  const f = createSafeFetch(base)
  try {
    assert.deepEqual(await f.getJson(`${srv.url}/hop/3`), { done: true })
    assert.equal(srv.requests.length, 4)
    await rejectsWith(f.getJson(`${srv.url}/hop/4`), 'bad_status')
    assert.equal(srv.requests.length, 8)
  } finally {
    await f.close()
    await srv.close()
  }
})

test('a server that never answers is a timeout within roughly timeoutMs', async () => {
  const srv = await serve(() => {})
  const f = createSafeFetch({ ...base, timeoutMs: 300 })
  try {
    const start = Date.now()
    await rejectsWith(f.getJson(`${srv.url}/hang`), 'timeout')
    const elapsed = Date.now() - start
    assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`)
  } finally {
    await f.close()
    await srv.close()
  }
})

test('a body over maxBodyBytes is too_large, declared or streamed, without reading it all', async () => {
  let streamed = 0
  const srv = await serve((req, res) => {
    if (req.url === '/declared') return json(res, 200, { pad: 'x'.repeat(20_000) })
    // An endless chunked body: only an aborted read can finish before the timeout.
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{"pad":"')
    const timer = setInterval(() => {
      streamed += 2048
      res.write('x'.repeat(2048))
    }, 5)
    res.on('close', () => clearInterval(timer))
  })
  const f = createSafeFetch({ ...base, maxBodyBytes: 10_000, timeoutMs: 5000 })
  try {
    await rejectsWith(f.getJson(`${srv.url}/declared`), 'too_large')
    const start = Date.now()
    await rejectsWith(f.getJson(`${srv.url}/stream`), 'too_large')
    assert.ok(Date.now() - start < 2000)
    assert.ok(streamed < 100_000, `server streamed ${streamed} bytes`)
  } finally {
    await f.close()
    await srv.close()
  }
})
