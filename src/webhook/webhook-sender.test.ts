import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, test } from 'node:test'
import { rafikiVerify } from '../../test/helpers/webhook-receiver.js'
import { createWebhookSender } from './webhook-sender.js'

/** The sender against local receivers: a 200, another status, silence, a closed port. */

const servers: Server[] = []
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))))

async function receiver(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks?from=opas`
}

const body = { id: 'a', type: 'grant.issued', data: { grantId: 'g', n: 1 } }
const sender = createWebhookSender({ timeoutMs: 300, connections: 2, now: () => 1234 })
after(() => sender.close())

test('a 200 is delivered; the POST carries the JSON body, signed, to the path and query', async () => {
  let seen: { url?: string; headers?: Record<string, unknown>; body?: string } = {}
  const url = await receiver((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      seen = { url: req.url, headers: req.headers, body: raw }
      res.writeHead(200).end()
    })
  })
  assert.deepEqual(await sender.send({ url, secret: 's' }, body), { delivered: true, status: 200 })
  assert.equal(seen.url, '/hooks?from=opas')
  assert.equal(seen.headers!['content-type'], 'application/json')
  assert.deepEqual(JSON.parse(seen.body!), body)
  assert.ok(rafikiVerify(String(seen.headers!['rafiki-signature']), JSON.parse(seen.body!), 's'))
})

test('another status, silence past the timeout and a closed port are failures, in words', async () => {
  const created = await receiver((_req, res) => res.writeHead(201).end())
  assert.deepEqual(await sender.send({ url: created, secret: 's' }, body), {
    delivered: false,
    status: 201,
    error: 'the receiver answered 201, not 200'
  })
  const silent = await receiver(() => {})
  assert.deepEqual(await sender.send({ url: silent, secret: 's' }, body), {
    delivered: false,
    status: null,
    error: 'no answer within 300 ms (WEBHOOK_TIMEOUT_MS)'
  })
  const closed = await receiver(() => {})
  await new Promise((resolve) => servers.pop()!.close(resolve))
  const refused = await sender.send({ url: closed, secret: 's' }, body)
  assert.equal(refused.delivered, false)
  assert.match((refused as { error: string }).error, /ECONNREFUSED/)
})

test('a 200 with a long answer is delivered; the answer is not read past 64 KiB, the next send works', async () => {
  const url = await receiver((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      // Far more than is read, written as fast as the socket takes it.
      const chunk = Buffer.alloc(64 * 1024, 'x')
      let left = 64
      const more = () => {
        while (left-- > 0) if (!res.write(chunk)) return void res.once('drain', more)
        res.end()
      }
      res.on('close', () => (left = 0))
      more()
    })
  })
  assert.deepEqual(await sender.send({ url, secret: 's' }, body), { delivered: true, status: 200 })
  const refusing = await receiver((req, res) =>
    req.resume().on('end', () => res.writeHead(503).end())
  )
  assert.equal((await sender.send({ url: refusing, secret: 's' }, body)).status, 503)
  assert.equal((await sender.send({ url: 'not a url', secret: 's' }, body)).delivered, false)
})
