import fc from 'fast-check'

/**
 * Generated requests name the rows they aim at symbolically: a fixture is rebuilt whenever a
 * request consumes it (an IdP accept, a rotation), so a counterexample must stay meaningful
 * (and shrinkable) across rebuilds. Symbols are resolved when the request is sent.
 */

/** Every fixture the fuzz world keeps alive, one live row (set) each. */
export const fixtureNames = [
  'pending', // interactive grant with a finish URI, interaction started (browser cookie)
  'pollable', // interactive grant without a finish URI: the client polls
  'approved', // the IdP accepted: its interact_ref continues the grant
  'rejected', // the IdP rejected
  'issued', // non-interactive grant: a live access token, grant finalised
  'directed', // the same for a directed-identity (JWK) client
  'revoked', // a grant the client cancelled: continuation and token are dead
  'rotated' // the token before a rotation (dead); its successor lives on
] as const
export type FixtureName = (typeof fixtureNames)[number]

/** What every fixture carries; a field that does not apply holds an unrelated, fresh value. */
export const fixtureFields = [
  'grantId',
  'continueId',
  'continueToken',
  'interactId',
  'nonce',
  'interactRef',
  'cookie',
  'manageId',
  'token',
  'csrf' // the built-in consent form's anti-forgery token for the interaction
] as const
export type FixtureField = (typeof fixtureFields)[number]
export type Fixture = Record<FixtureField, string>

/** Ways to make a real value almost right. */
export const mutations = ['none', 'upper', 'append', 'truncate', 'flip', 'percent'] as const
export type Mutation = (typeof mutations)[number]

export function mutate(value: string, mutation: Mutation): string {
  switch (mutation) {
    case 'none':
      return value
    case 'upper':
      return value.toUpperCase()
    case 'append':
      return `${value}a`
    case 'truncate':
      return value.slice(0, -1)
    case 'flip':
      return value.slice(0, -1) + (value.endsWith('a') ? 'b' : 'a')
    case 'percent':
      // Valid percent-encoding of every character: in a path it decodes to the value itself.
      return [...Buffer.from(value)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
  }
}

/** A field of a live fixture, possibly mutated. */
export class Ref {
  constructor(
    readonly fixture: FixtureName,
    readonly field: FixtureField,
    readonly mutation: Mutation = 'none'
  ) {}
  [fc.toStringMethod](): string {
    const m = this.mutation === 'none' ? '' : `|${this.mutation}`
    return `ref(${this.fixture}.${this.field}${m})`
  }
}

/** The current unix time plus `offset` seconds (signature `created`, `expires`). */
export class Now {
  constructor(readonly offset: number) {}
  [fc.toStringMethod](): string {
    return `now(${this.offset >= 0 ? '+' : ''}${this.offset})`
  }
}

/** A correct Content-Digest of the body actually sent. */
export class BodyDigest {
  constructor(readonly algorithm: 'sha-256' | 'sha-512') {}
  [fc.toStringMethod](): string {
    return `digest(${this.algorithm})`
  }
}

/** Concatenation of symbolic parts. */
export class Cat {
  readonly parts: readonly Sym[]
  constructor(...parts: Sym[]) {
    this.parts = parts
  }
  [fc.toStringMethod](): string {
    return `cat(${this.parts.map((p) => fc.stringify(p)).join(', ')})`
  }
}

export type Sym = string | Ref | Now | BodyDigest | Cat

export const cat = (...parts: Sym[]) => new Cat(...parts)

/** A request body as generated; JSON values may hold symbols anywhere. */
export type BodySpec =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  /** application/x-www-form-urlencoded fields, as a browser posts a form. */
  | { kind: 'form'; fields: Readonly<Record<string, Sym>> }

export const noBody: BodySpec = { kind: 'none' }

/** An unsigned request as generated. */
export interface RequestSpec {
  method: string
  url: Sym
  headers: Readonly<Record<string, Sym | undefined>>
  body: BodySpec
}

/** The fixtures a generated value refers to: the ones a successful request may have consumed. */
export function fixturesIn(value: unknown, found = new Set<FixtureName>()): Set<FixtureName> {
  if (value instanceof Ref) found.add(value.fixture)
  else if (value instanceof Cat) value.parts.forEach((p) => fixturesIn(p, found))
  else if (Array.isArray(value)) value.forEach((v) => fixturesIn(v, found))
  else if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    Object.values(value).forEach((v) => fixturesIn(v, found))
  }
  return found
}
