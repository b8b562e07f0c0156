import type { AuditEvent } from '../audit/events.js'
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AdminGrant, GrantHistory } from '../grant/grant-admin-store.js'
import { grantRow, grantShown } from './grant-lines.js'

/** `grants show` and a `grants list` row, from what the services answer. */

const at = (time: string) => new Date(`2025-03-01T${time}Z`)

const grant: AdminGrant = {
  id: '0193b1f2-7c4d-7a8e-9f10-2b3c4d5e6f70',
  tenantId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  client: 'https://w.example/shop',
  clientName: 'Shop',
  state: 'FINALIZED',
  finalizationReason: 'ISSUED',
  hasLiveToken: true,
  createdAt: new Date('2025-03-01T10:00:00.123Z'),
  access: [
    {
      id: 'a',
      type: 'incoming-payment',
      actions: ['create', 'read'],
      identifier: 'https://w.example/alice',
      limits: null,
      createdAt: '2025-03-01T10:00:00Z'
    }
  ],
  subIds: []
}

const history: GrantHistory = {
  interactions: [
    {
      id: 'i1',
      state: 'APPROVED',
      createdAt: at('10:00:00'),
      decidedAt: at('10:01:00'),
      finishedAt: at('10:01:05'),
      expiresAt: at('10:10:00'),
      expired: true
    },
    {
      id: 'i2',
      state: 'PENDING',
      createdAt: at('10:20:00'),
      decidedAt: null,
      finishedAt: null,
      expiresAt: at('10:30:00'),
      expired: true
    }
  ],
  tokens: [
    {
      id: 't1',
      createdAt: at('10:02:00'),
      expiresAt: at('10:12:00'),
      expired: true,
      revokedAt: at('10:05:00'),
      rotatedFrom: null,
      replacedBy: 't2'
    },
    {
      id: 't2',
      createdAt: at('10:05:00'),
      expiresAt: at('10:15:00'),
      expired: false,
      revokedAt: null,
      rotatedFrom: 't1',
      replacedBy: null
    }
  ]
}

describe('grantShown', () => {
  test("the status, the raw state, the access in words, the console's history", () => {
    assert.equal(
      grantShown(grant, history),
      [
        'grant    0193b1f2-7c4d-7a8e-9f10-2b3c4d5e6f70',
        'tenant   a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
        'client   https://w.example/shop',
        'status   issued: the app holds a live token',
        'state    FINALIZED (ISSUED)',
        'created  2025-03-01T10:00:00Z',
        'allows',
        '  Receive payments: create incoming payments, see the incoming payments it made on https://w.example/alice',
        'interactions',
        '  1  Started 2025-03-01T10:00:00Z: the app sent the account holder to consent',
        '     Accepted 2025-03-01T10:01:00Z',
        '     Finished 2025-03-01T10:01:05Z: the account holder was sent back to the app',
        '  2  Started 2025-03-01T10:20:00Z: the app sent the account holder to consent',
        '     Expired unanswered 2025-03-01T10:30:00Z',
        'tokens',
        '  1  Issued 2025-03-01T10:02:00Z; rotated 2025-03-01T10:05:00Z, replaced by token 2',
        '  2  Issued 2025-03-01T10:05:00Z by rotating token 1; live; expires 2025-03-01T10:15:00Z'
      ].join('\n')
    )
  })

  test('its audit trail, oldest first: when, what, who acted and from where', () => {
    const event = (
      at: string,
      type: AuditEvent['type'],
      actorKind: AuditEvent['actorKind'],
      actor: string | null
    ) => ({
      id: '1',
      at: new Date(at),
      type,
      tenantId: grant.tenantId,
      grantId: grant.id,
      client: grant.client,
      actorKind,
      actor,
      requestId: 'req-1',
      remoteAddress: '10.0.0.7',
      details: {}
    })
    const shown = grantShown(grant, history, [
      event('2025-03-01T10:00:00.250Z', 'grant.requested', 'client', 'https://w.example/shop'),
      event('2025-03-02T08:00:00Z', 'grant.revoked', 'cli', 'root@ops-1')
    ])
    assert.match(
      shown,
      /^history\n {2}2025-03-01T10:00:00Z {2}Requested by the client https:\/\/w\.example\/shop from 10\.0\.0\.7\n {2}2025-03-02T08:00:00Z {2}Revoked by CLI root@ops-1 from 10\.0\.0\.7\ninteractions$/m
    )
  })

  test('no live token: inactive, each token saying how it ended; none: said so', () => {
    const ended = { ...grant, hasLiveToken: false }
    const expired = { ...history.tokens[1]!, expired: true }
    const shown = grantShown(ended, { interactions: [], tokens: [history.tokens[0]!, expired] })
    assert.match(shown, /^status {3}inactive: issued, but the app holds no live token/m)
    assert.match(shown, /^interactions {2}none: this grant needed no consent$/m)
    assert.match(shown, /^ {2}2 {2}Issued \S+ by rotating token 1; expired 2025-03-01T10:15:00Z$/m)
    assert.match(grantShown(ended, { interactions: [], tokens: [] }), /^tokens {2}none issued$/m)
  })
})

test('grantRow: the columns of grants list, the status word', () => {
  assert.deepEqual(grantRow({ ...grant, client: null, hasLiveToken: false }), [
    grant.id,
    'inactive',
    '2025-03-01T10:00:00Z',
    '(key)',
    'Receive payments: create incoming payments, see the incoming payments it made on https://w.example/alice',
    grant.tenantId
  ])
})
