import { Type, type Static } from '@sinclair/typebox'

/**
 * Open Payments access items (auth-server spec v1.3, `access-item`): the rights a token carries.
 * Extra properties are refused (the spec's `unevaluatedProperties: false`; Rafiki let them
 * through and then failed the insert with a 500). `identifier` is tolerated on quotes because
 * resource servers send it at introspection and Rafiki requires it when QUOTE_INTERACTION is on.
 */
export const accessTypes = ['incoming-payment', 'outgoing-payment', 'quote'] as const
export type AccessType = (typeof accessTypes)[number]

const incomingActions = ['create', 'complete', 'read', 'read-all', 'list', 'list-all'] as const
const outgoingActions = ['create', 'read', 'read-all', 'list', 'list-all'] as const
const quoteActions = ['create', 'read', 'read-all'] as const

const literals = <T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v)))

const actionsOf = <T extends readonly string[]>(values: T) =>
  Type.Array(literals(values), { uniqueItems: true, maxItems: values.length })

const uri = Type.String({ format: 'uri', maxLength: 2048 })

// uint64 as a decimal string; the upper bound is checked in grant-model (JSON Schema cannot).
export const AmountSchema = Type.Object(
  {
    value: Type.String({ pattern: '^[0-9]{1,20}$' }),
    assetCode: Type.String({ minLength: 1, maxLength: 64 }),
    assetScale: Type.Integer({ minimum: 0, maximum: 255 })
  },
  { additionalProperties: false }
)
export type Amount = Static<typeof AmountSchema>

export const LimitsSchema = Type.Object(
  {
    receiver: Type.Optional(
      Type.String({
        format: 'uri',
        maxLength: 2048,
        pattern: '^(https|http)://(.+)/incoming-payments/(.+)$'
      })
    ),
    interval: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    debitAmount: Type.Optional(AmountSchema),
    receiveAmount: Type.Optional(AmountSchema)
  },
  { additionalProperties: false }
)
export type OutgoingLimits = Static<typeof LimitsSchema>

const IncomingAccessSchema = Type.Object(
  {
    type: Type.Literal('incoming-payment'),
    actions: actionsOf(incomingActions),
    identifier: Type.Optional(uri)
  },
  { additionalProperties: false }
)

const OutgoingAccessSchema = Type.Object(
  {
    type: Type.Literal('outgoing-payment'),
    actions: actionsOf(outgoingActions),
    identifier: uri,
    limits: Type.Optional(LimitsSchema)
  },
  { additionalProperties: false }
)

const QuoteAccessSchema = Type.Object(
  {
    type: Type.Literal('quote'),
    actions: actionsOf(quoteActions),
    identifier: Type.Optional(uri)
  },
  { additionalProperties: false }
)

const accessBranches = [IncomingAccessSchema, OutgoingAccessSchema, QuoteAccessSchema] as const

// oneOf with a `discriminator` makes ajv report the error of the branch named by `type`, not of
// all three (TypeBox's Union would emit anyOf, which ajv's discriminator does not accept).
export const AccessItemSchema = Type.Unsafe<Static<(typeof accessBranches)[number]>>({
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [...accessBranches]
})

export const AccessSchema = Type.Array(AccessItemSchema, { maxItems: 3, uniqueItems: true })

/** One access item as requested, stored and returned. */
export interface AccessItem {
  type: AccessType
  actions: string[]
  identifier?: string
  limits?: OutgoingLimits
}

/** The wire form of a stored access item: null columns omitted (Rafiki §8). */
export function toAccessWire(row: {
  type: string
  actions: string[]
  identifier: string | null
  limits: OutgoingLimits | null
}): AccessItem {
  const item: AccessItem = { type: row.type as AccessType, actions: row.actions }
  if (row.identifier !== null) item.identifier = row.identifier
  if (row.limits !== null) item.limits = row.limits
  return item
}
