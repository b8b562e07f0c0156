import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRecentActivity } from './recent-activity.js'
import { workersOf } from '../../test/helpers/worker-ipc.js'

/** Issue 24 (6): a tenant's hour is its own; the operator's is the whole server's. */

const T0 = Date.UTC(2025, 4, 1, 12, 0, 0)
const A = '0b9d4a3e-8c1f-4e2a-9b7d-6c5e4f3a2b10'
const B = '5f0c2d1e-3a4b-4c5d-8e6f-7a8b9c0d1e2f'

function busy() {
  const activity = createRecentActivity(() => T0)
  activity.grantIssued(A)
  activity.grantIssued(B)
  activity.grantIssued(B)
  activity.rotated(B)
  activity.introspected(true, A)
  activity.introspected(false)
  activity.refused('invalid_client', B)
  activity.refused('invalid_request')
  activity.request('auth', '/:tenantId', 'POST', 0.01)
  activity.request('service', '/tenant', 'POST', 0.5)
  return activity
}

test("a tenant's snapshot holds its own counts alone, and no latency", () => {
  const activity = busy()
  const a = activity.snapshot({ tenantId: A }).minutes[String(T0)]
  assert.deepEqual(a, {
    grantsIssued: 1,
    rotations: 0,
    introspections: { active: 1, inactive: 0 },
    refusals: {},
    latency: {}
  })
  const b = activity.snapshot({ tenantId: B }).minutes[String(T0)]
  assert.deepEqual(b, {
    grantsIssued: 2,
    rotations: 1,
    introspections: { active: 0, inactive: 0 },
    refusals: { invalid_client: 1 },
    latency: {}
  })
  const idle = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'
  assert.deepEqual(activity.snapshot({ tenantId: idle }), { since: T0, minutes: {} })
})

test("the server's snapshot holds everyone's counts and the routes' latency", () => {
  const server = busy().snapshot().minutes[String(T0)]!
  assert.equal(server.grantsIssued, 3)
  assert.equal(server.rotations, 1)
  assert.deepEqual(server.introspections, { active: 1, inactive: 1 })
  assert.deepEqual(server.refusals, { invalid_client: 1, invalid_request: 1 })
  assert.deepEqual(Object.keys(server.latency).sort(), [
    'auth POST /:tenantId',
    'service POST /tenant'
  ])
})

test('tenants with figures of their own are capped per minute; the server still counts all', () => {
  const activity = createRecentActivity(() => T0)
  const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
  for (let i = 0; i <= 1000; i++) activity.grantIssued(id(i))
  assert.equal(activity.snapshot().minutes[String(T0)]?.grantsIssued, 1001)
  assert.equal(activity.snapshot({ tenantId: id(999) }).minutes[String(T0)]?.grantsIssued, 1)
  assert.deepEqual(activity.snapshot({ tenantId: id(1000) }), { since: T0, minutes: {} })
})

test("workers: a tenant's hour is collected from every worker, and only that tenant's", async () => {
  const workers = [1, 2].map((id) => {
    const activity = createRecentActivity(() => T0)
    for (let i = 0; i < id; i++) activity.grantIssued(A)
    activity.grantIssued(B)
    activity.request('auth', '/:tenantId', 'POST', 0.01)
    return { id, activity }
  })
  const clients = workersOf(workers)
  const a = (await clients[0]!.recent({ tenantId: A })).minutes[String(T0)]
  assert.equal(a?.grantsIssued, 3)
  assert.deepEqual(a?.latency, {})
  const b = (await clients[1]!.recent({ tenantId: B })).minutes[String(T0)]
  assert.equal(b?.grantsIssued, 2)
  const server = (await clients[1]!.recent()).minutes[String(T0)]
  assert.equal(server?.grantsIssued, 5)
  assert.ok(server?.latency['auth POST /:tenantId'])
})
