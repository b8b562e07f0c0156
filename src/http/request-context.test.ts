import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FastifyRequest } from 'fastify'
import { requestContext } from './request-context.js'

test('a context is read back by its own request only; unset, reading it fails loudly', () => {
  const ctx = requestContext<{ grantId: string }>('continuation')
  const one = {} as FastifyRequest
  const other = {} as FastifyRequest
  ctx.set(one, { grantId: 'g1' })
  assert.deepEqual(ctx.of(one), { grantId: 'g1' })
  assert.throws(() => ctx.of(other), /no continuation for this request: its hook did not run/)
  // Nothing is written on the request itself.
  assert.deepEqual(Object.keys(one), [])
})
