import { Type, type Static } from '@sinclair/typebox'
import { AccessSchema } from './access.js'

/** Request bodies of every listener, as JSON Schema (validated by Fastify's ajv, compiled once). */

export const JwkSchema = Type.Object(
  {
    kid: Type.String({ minLength: 1, maxLength: 256 }),
    alg: Type.Literal('EdDSA'),
    use: Type.Optional(Type.Literal('sig')),
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ pattern: '^[a-zA-Z0-9-_]+$', maxLength: 128 })
  },
  { additionalProperties: false }
)
export type Jwk = Static<typeof JwkSchema>

const walletAddressUri = Type.String({ format: 'uri', maxLength: 2048 })

// auth-server spec `client`: a wallet address string (deprecated form), {walletAddress} or {jwk}.
export const ClientSchema = Type.Union([
  walletAddressUri,
  Type.Object({ walletAddress: walletAddressUri }, { additionalProperties: false }),
  Type.Object({ jwk: JwkSchema }, { additionalProperties: false })
])

export const InteractRequestSchema = Type.Object({
  start: Type.Array(Type.Literal('redirect'), { minItems: 1, maxItems: 1 }),
  // The Rust SDK serialises an absent finish as `null`.
  finish: Type.Optional(
    Type.Union([
      Type.Object({
        method: Type.Literal('redirect'),
        uri: Type.String({ format: 'uri', maxLength: 4096 }),
        nonce: Type.String({ minLength: 1, maxLength: 256 })
      }),
      Type.Null()
    ])
  )
})

export const SubjectSchema = Type.Object({
  sub_ids: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1, maxLength: 2048 }),
      format: Type.Literal('uri')
    }),
    { minItems: 1, maxItems: 1 }
  )
})

// The spec's anyOf (with access_token, or with interact + subject) is checked in grant-model so
// the error says which field is missing (RFC 9635 §2). Unknown top-level fields are ignored, as
// RFC 9635 §2 extension rules and Rafiki both allow.
// RFC 9635 §2.1.1: the token's flags (checked in grant-model: `invalid_flag`) and the client's
// label for it, echoed in every token response of the grant (§3.2.1).
export const AccessTokenRequestSchema = Type.Object({
  access: AccessSchema,
  flags: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 8 })),
  label: Type.Optional(Type.String({ minLength: 1, maxLength: 256 }))
})

export const GrantRequestSchema = Type.Object({
  client: ClientSchema,
  access_token: Type.Optional(AccessTokenRequestSchema),
  interact: Type.Optional(InteractRequestSchema),
  subject: Type.Optional(SubjectSchema)
})
export type GrantRequest = Static<typeof GrantRequestSchema>

export const ContinueRequestSchema = Type.Union([
  Type.Object({
    interact_ref: Type.Optional(Type.String({ maxLength: 256 })),
    // The PHP SDK repeats its grant request's `client` here; it is ignored (gnap-routes).
    client: Type.Optional(ClientSchema)
  }),
  Type.Null()
])
export type ContinueRequest = Static<typeof ContinueRequestSchema> | undefined

// Rafiki's request (token-introspection.yaml), with RFC 9767 §3.3's `proof` (how the client
// proves its key: a token bound otherwise is not active) and `resource_server` (who asks, §3.2:
// a name the AS knows, or its key by value), which INTROSPECTION_AUTH=signature requires.
export const IntrospectionRequestSchema = Type.Object({
  access_token: Type.String({ minLength: 1, maxLength: 1024 }),
  access: Type.Optional(AccessSchema),
  proof: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  resource_server: Type.Optional(
    Type.Union([
      Type.String({ minLength: 1, maxLength: 256 }),
      Type.Object({ key: Type.Object({ proof: Type.Literal('httpsig'), jwk: JwkSchema }) })
    ])
  )
})
export type IntrospectionRequest = Static<typeof IntrospectionRequestSchema>
