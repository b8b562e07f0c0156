import assert from 'node:assert/strict'
import { createConnection } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startTestServer, type TestServer } from '../helpers/test-server.js'

/**
 * Requests Node's HTTP parser refuses before any route (headers over the limit, a malformed
 * request line or header) are answered on every listener in the GNAP envelope (RFC 9635 §3.6),
 * not in Node's or Fastify's own body, and without echoing or logging what was sent.
 */

let server: TestServer
const logs: string[] = []

before(async () => {
  server = await startTestServer(
    { LOG_LEVEL: 'info' },
    { logStream: { write: (l) => logs.push(l) } }
  )
})
after(() => server.close())

const SECRET = 'sEcReT-HeAdEr-VaLuE'

/** Sends `requests` on one connection; everything the server wrote until it closed. */
function exchange(url: string, ...requests: string[]): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) })
    let received = ''
    let next = 0
    const sendNext = () => {
      const request = requests[next++]
      if (request !== undefined) socket.write(request)
    }
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      // The next request goes once the previous answer is whole (a kept-alive connection).
      if (/\r\n\r\n/.test(received) && next < requests.length && received.endsWith('}')) sendNext()
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(received))
    socket.on('connect', sendNext)
  })
}

/** The last answer of a raw exchange: status, headers and JSON body. */
function lastAnswer(raw: string) {
  const start = raw.lastIndexOf('HTTP/1.1 ')
  const [head, body] = [
    raw.slice(start, raw.indexOf('\r\n\r\n', start)),
    raw.slice(raw.indexOf('\r\n\r\n', start) + 4)
  ]
  const [statusLine, ...headerLines] = head.split('\r\n')
  const headers = new Map(
    headerLines.map((l) => [
      l.slice(0, l.indexOf(':')).toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim()
    ])
  )
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body) as unknown }
}

const oversized = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${SECRET}${'a'.repeat(20_000)}\r\n\r\n`

describe('requests Node cannot parse', () => {
  test('a 20 KB header is 431 in the GNAP envelope on every listener', async () => {
    for (const url of [
      server.authUrl,
      server.interactionUrl,
      server.introspectionUrl,
      server.adminUrl,
      server.serviceUrl
    ]) {
      const answer = lastAnswer(await exchange(url, oversized))
      assert.equal(answer.status, 431, url)
      assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8')
      assert.equal(answer.headers.get('connection'), 'close')
      const { error } = answer.body as { error: { code: string; description: string } }
      assert.equal(error.code, 'invalid_request')
      assert.match(error.description, /^request headers too large/)
      assert.deepEqual(Object.keys(answer.body as object), ['error'])
      assert.deepEqual(Object.keys(error), ['code', 'description'])
    }
  })

  test('malformed requests are 400 in the GNAP envelope, naming nothing they carried', async () => {
    for (const request of [
      `GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: ${SECRET}\r\n\r\n`,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Ctl: ${SECRET}\x01\r\n\r\n`,
      `G(T /${SECRET} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n`,
      `GET /healthz HTTP/9.${SECRET}\r\n\r\n`
    ]) {
      const raw = await exchange(server.authUrl, request)
      const answer = lastAnswer(raw)
      assert.equal(answer.status, 400, JSON.stringify(request))
      assert.deepEqual(answer.body, {
        error: { code: 'invalid_request', description: 'malformed HTTP request' }
      })
      assert.ok(!raw.includes(SECRET))
    }
  })

  test('on a kept-alive connection, after an answered request', async () => {
    const good = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
    const raw = await exchange(server.authUrl, good, oversized)
    assert.match(raw, /^HTTP\/1\.1 200 /)
    const answer = lastAnswer(raw)
    assert.equal(answer.status, 431)
    assert.equal((answer.body as { error: { code: string } }).error.code, 'invalid_request')
  })

  test('each refusal is logged once, by its kind, without what was sent', () => {
    const refused = logs.filter((l) => l.includes('"reason":"HPE_'))
    assert.ok(refused.length >= 11, `${refused.length}`)
    assert.ok(refused.every((l) => JSON.parse(l).msg === 'request refused'))
    assert.ok(!logs.some((l) => l.includes(SECRET)))
  })
})
