/*
 * What opas tells clients and resource servers about itself. Fixed by what opas implements, so
 * each document is built from the URLs alone: a change of support is a change here, once.
 */

/** Interaction start modes opas offers (RFC 9635 §2.5.1): the Open Payments redirect. */
const interactionStartModes = ['redirect']
/** Interaction finish methods (RFC 9635 §2.5.2): the redirect back to the client. */
const interactionFinishMethods = ['redirect']
/** Key proofing methods (RFC 9635 §7.3): HTTP message signatures, as Open Payments requires. */
const keyProofs = ['httpsig']
/** Subject identifier formats a grant may request (RFC 9493 §3). */
const subIdFormats = ['uri']

/**
 * The answer to OPTIONS on a grant request endpoint (RFC 9635 §9), with the RFC's field names.
 * `grantRequestEndpoint` is the URL the client called (§9: it MUST match). Key rotation
 * (§6.1.1) is not offered: Open Payments clients rotate keys in their wallet address's JWKS.
 */
export function grantEndpointDiscovery(grantRequestEndpoint: string) {
  return {
    grant_request_endpoint: grantRequestEndpoint,
    interaction_start_modes_supported: interactionStartModes,
    interaction_finish_methods_supported: interactionFinishMethods,
    key_proofs_supported: keyProofs,
    sub_id_formats_supported: subIdFormats,
    key_rotation_supported: false
  }
}

/**
 * Rafiki's `GET /discovery` (its field names: `interaction_finish_modes_supported`), kept as
 * Rafiki's clients read it, with an absolute grant endpoint.
 */
export function rafikiDiscovery(grantRequestEndpoint: string) {
  return {
    grant_request_endpoint: grantRequestEndpoint,
    interaction_start_modes_supported: interactionStartModes,
    interaction_finish_modes_supported: interactionFinishMethods,
    key_proofs_supported: keyProofs,
    sub_id_formats_supported: subIdFormats
  }
}

/**
 * The resource-server-facing discovery document (RFC 9767 §3.1), served at
 * `/.well-known/gnap-as-rs`. opas's access tokens are opaque (no registered token format, so
 * `token_formats_supported` is empty: a resource server introspects every token), and it offers
 * no resource registration (§3.4), so that endpoint is left out as §3.1 says.
 */
export function resourceServerDiscovery(config: {
  authServerUrl: string
  introspectionUrl: string
}) {
  return {
    grant_request_endpoint: `${config.authServerUrl}/`,
    introspection_endpoint: `${config.introspectionUrl}/`,
    token_formats_supported: [] as string[],
    key_proofs_supported: keyProofs
  }
}
