/**
 * Where an interaction lives on the auth listener: its start (RFC 9635 §4.1.1, the
 * `interact.redirect` handed to the client), the built-in consent screen, and its finish
 * (§4.2.1). One definition, so that the redirect, the routes' hops between them and the session
 * cookie's path (a path: `base` without an origin) always agree.
 */
export function interactionUrl(
  base: string,
  id: string,
  nonce: string,
  step?: 'consent' | 'finish'
): string {
  return `${base}/interact/${id}/${nonce}${step ? `/${step}` : ''}`
}
