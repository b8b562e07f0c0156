import { sha512Digest, usualComponents, type SdkShape } from './sdk-signature.js'

/**
 * interledger/open-payments-php: `lib/Utils/HttpSignature.php` signs (`Signature: sig1=<b64>`
 * without colons; parameters keyid then created) and `lib/ApiClient.php` sends: User-Agent,
 * Accept and Content-Type on every request, `Content-Length: strlen(body)` (0 without a body),
 * `Host` without the port, and a Content-Digest even of an empty body, which it does not sign.
 * It signs a POST always and a DELETE only with a token. `lib/Services/GrantService.php` adds
 * `/` to the grant and continuation URLs and the client (a string) to both bodies; bodies are
 * `json_encode(…, JSON_UNESCAPED_SLASHES)`.
 */
export const phpSdk: SdkShape = {
  name: 'PHP',
  style: {
    components: usualComponents,
    quoted: true,
    params: ({ created, keyid, alg }) =>
      `;keyid="${keyid}";created=${created}${alg === undefined ? '' : `;alg="${alg}"`}`,
    signature: (b64) => `sig1=${b64}`
  },
  request(method, url, token, body = '') {
    const headers: Record<string, string> = {
      'Content-Length': String(Buffer.byteLength(body)),
      'User-Agent': 'OP-PHP-SDK-Client',
      Accept: 'application/json',
      'Content-Type': 'application/json',
      Host: new URL(url).hostname,
      'Content-Digest': sha512Digest(body)
    }
    if (token !== undefined) headers.Authorization = `GNAP ${token}`
    return { method, url, headers, ...(body !== '' && { body }) }
  },
  grantUrl: (url) => (url.endsWith('/') ? url : `${url}/`),
  grantBody: (request, walletAddress) => JSON.stringify({ ...request, client: walletAddress }),
  continueUrl: (uri) => (uri.endsWith('/') ? uri : `${uri}/`),
  // The app's continuation array (empty to poll), then the client; an empty array is no body.
  continueBody: (ref, walletAddress) =>
    JSON.stringify({ ...(ref !== undefined && { interact_ref: ref }), client: walletAddress })
}
