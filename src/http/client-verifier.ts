import type { KeyObject } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { importEd25519Jwk, type ClientKeys } from '../client-keys/index.js'
import { invalidClient } from '../gnap/gnap-error.js'
import type { SignatureReplayMode } from '../config/config-types.js'
import type { ClientIdentity } from '../gnap/client-identity.js'
import { SignatureError, verifyMessage } from '../http-signatures/index.js'
import type { RateLimits } from '../rate-limit/rate-limits.js'
import type { Replay, ReplayGuard } from '../replay/replay-guard.js'

export interface ClientVerifierDeps {
  clientKeys: ClientKeys
  replay: ReplayGuard
  rateLimits: Pick<RateLimits, 'consumeClient'>
  config: {
    authServerUrl: string
    signatureMaxAgeSeconds: number
    signatureReplay: SignatureReplayMode
  }
  now: () => number
}

/**
 * Proves a request comes from the client (RFC 9635 §7.3.1, RFC 9421): the signature is checked
 * over the raw bytes, against the target URI the client addressed — the configured public URL
 * plus the request path, so no Host or X-Forwarded header can change what is verified.
 */
export function createClientVerifier(deps: ClientVerifierDeps) {
  const { clientKeys, config } = deps
  // Imported once per public key, not per request (keyed by the key material itself).
  const jwkKeys = new LRUCache<string, KeyObject>({ max: 10_000 })

  function keyLookup(client: ClientIdentity) {
    if (client.kind === 'walletAddress') {
      return (keyid: string) => clientKeys.getKey(client.walletAddress, keyid)
    }
    const jwk = client.jwk
    return async (keyid: string) => {
      // Directed identity: the key is the JWK itself, and the signature must name it (the
      // resource server requires the same; Rafiki's AS did not check, weakness §12.6).
      // Answered like a key that cannot be fetched (Rafiki: 400 `could not determine client`).
      if (keyid !== jwk.kid) throw invalidClient('could not determine client', 400)
      let key = jwkKeys.get(jwk.x)
      if (!key) {
        key = importEd25519Jwk(jwk)
        jwkKeys.set(jwk.x, key)
      }
      return key
    }
  }

  /**
   * Verifies the request's signature for `client` and says how it is kept from being replayed
   * (replay-guard `Replay`). With `deferReplay` the signature may be left for the statement that
   * acts on the request to record (`record`: one round trip instead of two); that statement then
   * refuses to act when it was recorded already. Otherwise it is claimed here (`claimed`), and a
   * replay is refused here.
   *
   * With `repeatable` (grant requests) a signature without a `nonce` is not claimed at all,
   * unless SIGNATURE_REPLAY=strict: the SDKs sign only `keyid` and `created`, and Ed25519 is
   * deterministic, so two identical grant requests in one second carry one signature. Serving
   * the repeat is safe: each answer is a new grant whose continuation and tokens work only with
   * requests signed by the client's key (RFC 9635 §7.3), so a replayer holds nothing usable.
   * A client that wants repeats refused signs a `nonce` (RFC 9421 §7.2.2).
   */
  return async function verifyClient(
    req: FastifyRequest,
    client: ClientIdentity,
    options: { deferReplay?: boolean; repeatable?: boolean } = {}
  ): Promise<VerifiedClient> {
    let key: KeyObject | undefined
    const lookup = keyLookup(client)
    const verified = await verifyMessage(
      {
        method: req.method,
        targetUri: config.authServerUrl + req.url,
        headers: req.headers,
        body: req.rawBody
      },
      async (keyid) => (key = await lookup(keyid)),
      { now: Math.floor(deps.now() / 1000), maxAgeSeconds: config.signatureMaxAgeSeconds }
    )
    // Counted only once verified, so no one can spend another client's allowance.
    await deps.rateLimits.consumeClient(
      client.kind === 'walletAddress' ? client.walletAddress : `jwk:${client.jwk.x}`
    )
    const signedBy = { keyid: verified.keyid, key: key! }
    if (options.repeatable && verified.nonce === undefined && config.signatureReplay !== 'strict') {
      return { replay: { kind: 'none' }, ...signedBy }
    }
    // RFC 9421 §7.2.2: recorded only once verified (an unsigned flood records nothing), until
    // `created` leaves the window, after which the freshness check refuses the signature anyway.
    const signature = verified.signature
    const expiresAt = verified.created + config.signatureMaxAgeSeconds
    if (options.deferReplay && deps.replay.foldsIntoStatements) {
      return { replay: { kind: 'record', signature, expiresAt }, ...signedBy }
    }
    if (!(await deps.replay.claim(signature, expiresAt))) throw new SignatureError('replayed')
    return { replay: { kind: 'claimed' }, ...signedBy }
  }
}

export type VerifyClient = ReturnType<typeof createClientVerifier>

/** A verified request: how it is kept from being replayed, and the key that signed it. */
export interface VerifiedClient {
  replay: Replay
  /** The signing key, as the client named it (its `keyid`) and imported. */
  keyid: string
  key: KeyObject
}
