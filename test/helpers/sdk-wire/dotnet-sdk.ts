import { createdKeyidAlgStyle, sha512Digest, type SdkShape } from './sdk-signature.js'

/**
 * interledger/open-payments-dotnet: `OpenPayments.Sdk.HttpSignatureUtils/HttpRequestSigner.cs`
 * signs (sha-512 digest of the UTF-8 body, `Signature: sig1=:…:`), and the generated
 * `AuthServerClient` (`Generated/Auth/*`) shapes requests: its BaseUrl setter appends `/` to the
 * grant URL, bodies are Newtonsoft JSON with nulls left out, and the rotation sends
 * `StringContent(string.Empty, UTF8, "application/json")`, an empty body that HttpClient
 * labels `application/json; charset=utf-8` with `Content-Length: 0`, unsigned.
 */
export const dotnetSdk: SdkShape = {
  name: '.NET',
  style: createdKeyidAlgStyle,
  request(method, url, token, body) {
    const headers: Record<string, string> = {}
    // Grant, continuation and rotation ask for JSON; the DELETEs set no Accept.
    if (method === 'POST') headers.Accept = 'application/json'
    if (token !== undefined) headers.Authorization = `GNAP ${token}`
    if (body) {
      headers['Content-Type'] = 'application/json'
      headers['Content-Digest'] = sha512Digest(body)
      headers['Content-Length'] = String(Buffer.byteLength(body))
    } else if (method === 'POST') {
      headers['Content-Type'] = 'application/json; charset=utf-8'
      headers['Content-Length'] = '0'
    }
    return { method, url, headers, ...(body !== undefined && { body }) }
  },
  grantUrl: (url) => (url.endsWith('/') ? url : `${url}/`),
  // GrantCreateBodyWithInteract: access_token and interact, then the base class's client (a Uri).
  grantBody: (request, walletAddress) =>
    JSON.stringify({
      access_token: request.access_token,
      ...(request.interact !== undefined && { interact: request.interact }),
      client: walletAddress
    }),
  continueUrl: (uri) => uri,
  // GrantContinueBody{InteractRef} with NullValueHandling.Ignore: `{}` to poll.
  continueBody: (ref) => JSON.stringify(ref === undefined ? {} : { interact_ref: ref })
}
