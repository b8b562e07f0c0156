import { headerOf, sha512Digest, type SdkShape } from './sdk-signature.js'

/**
 * interledger/open-payments-rust: `src/http_signature/signatures.rs` signs `@method
 * @target-uri content-type [authorization] [content-digest content-length]` with the names
 * unquoted in Signature-Input (and so in the base's `@signature-params` line), and sends the
 * signature as bare base64. `src/client/request.rs` sets `Content-Type: application/json` on
 * every request, body or not; reqwest adds `Accept: *\/*`. `src/client/grant.rs` sends the
 * client as a string and always continues with `{"interact_ref": …}`: an app with no reference
 * can only pass an empty one. Its `InteractRequest.finish` is serialised as `null` when unset.
 */
export const rustSdk: SdkShape = {
  name: 'Rust',
  style: {
    components: (req) => [
      '@method',
      '@target-uri',
      'content-type',
      ...(headerOf(req, 'authorization') !== undefined ? ['authorization'] : []),
      ...(req.body !== undefined ? ['content-digest', 'content-length'] : [])
    ],
    quoted: false,
    params: ({ created, keyid, alg }) =>
      `;created=${created};keyid="${keyid}"${alg === undefined ? '' : `;alg="${alg}"`}`,
    signature: (b64) => b64
  },
  request(method, url, token, body) {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: '*/*'
    }
    if (token !== undefined) headers.authorization = `GNAP ${token}`
    if (body !== undefined) {
      headers['content-length'] = String(Buffer.byteLength(body))
      headers['content-digest'] = sha512Digest(body)
    } else if (method === 'POST') {
      // hyper frames the empty body; its length is not signed.
      headers['content-length'] = '0'
    }
    return { method, url, headers, ...(body !== undefined && { body }) }
  },
  grantUrl: (url) => url,
  // serde of GrantRequest { access_token, client: String, interact (finish: Option, no skip) }.
  grantBody: (request, walletAddress) =>
    JSON.stringify({
      access_token: request.access_token,
      client: walletAddress,
      ...(request.interact !== undefined && {
        interact: { start: request.interact.start, finish: request.interact.finish ?? null }
      })
    }),
  continueUrl: (uri) => uri,
  continueBody: (ref) => JSON.stringify({ interact_ref: ref ?? '' })
}
