import { createdKeyidAlgStyle, sha512Digest, type SdkShape } from './sdk-signature.js'

/**
 * interledger/open-payments-go: `httpsignatureutils/signature.go` signs, `client.go` (DoSigned)
 * sets the content headers and `Signature: sig1=:…:`; `grant.go` and `token.go` shape requests.
 * Go's net/http adds `User-Agent`, `Accept-Encoding: gzip` and, for a POST without a body,
 * `Content-Length: 0`; it sends no Accept.
 */
export const goSdk: SdkShape = {
  name: 'Go',
  style: createdKeyidAlgStyle,
  request(method, url, token, body) {
    const headers: Record<string, string> = {
      'User-Agent': 'Go-http-client/1.1',
      'Accept-Encoding': 'gzip'
    }
    if (token !== undefined) headers.Authorization = `GNAP ${token}`
    if (body) {
      headers['Content-Digest'] = sha512Digest(body)
      headers['Content-Length'] = String(Buffer.byteLength(body))
      headers['Content-Type'] = 'application/json'
    } else if (method === 'POST') {
      headers['Content-Length'] = '0'
    }
    // `@target-uri` is `req.URL.String()`, with a `/` added only when the path is empty.
    const target = /^https?:\/\/[^/]+$/.test(url) ? `${url}/` : url
    return { method, url: target, headers, ...(body !== undefined && { body }) }
  },
  grantUrl: (url) => url,
  // json.Marshal of the generated GrantRequestWithAccessToken: access_token, client, interact.
  grantBody: (request, walletAddress) =>
    JSON.stringify({
      access_token: request.access_token,
      client: { walletAddress },
      ...(request.interact !== undefined && { interact: request.interact })
    }),
  continueUrl: (uri) => uri,
  // ContinuationRequest{InteractRef *string `json:"interact_ref,omitempty"`}: `{}` to poll.
  continueBody: (ref) => JSON.stringify(ref === undefined ? {} : { interact_ref: ref })
}
