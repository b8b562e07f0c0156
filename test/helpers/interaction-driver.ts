import assert from 'node:assert/strict'
import { send, type TestResponse } from './signed-request.js'
import type { TestServer } from './test-server.js'

/**
 * Plays the browser and the IdP through an interaction: start (302 to the IdP with the session
 * cookie), the IdP's back-channel details and choice, then finish with the cookie.
 */
export async function driveInteraction(
  server: Pick<TestServer, 'authUrl' | 'interactionUrl' | 'idpSecret'>,
  redirect: string,
  choice: 'accept' | 'reject'
): Promise<{ finish: TestResponse; details: unknown; idpLocation: URL }> {
  const start = await send(redirect, {})
  assert.equal(start.status, 302, `interaction start answered ${start.status}: ${start.text}`)
  const idpLocation = new URL(start.headers.get('location')!)
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!
  const id = idpLocation.searchParams.get('interactId')!
  const nonce = idpLocation.searchParams.get('nonce')!
  const idpHeaders = { 'x-idp-secret': server.idpSecret, accept: 'application/json' }
  const details = await send(`${server.interactionUrl}/grant/${id}/${nonce}`, {
    headers: idpHeaders
  })
  assert.equal(details.status, 200, details.text)
  const decided = await send(`${server.interactionUrl}/grant/${id}/${nonce}/${choice}`, {
    method: 'POST',
    headers: { ...idpHeaders, 'content-type': 'application/json' },
    body: '{}'
  })
  assert.equal(decided.status, 202, decided.text)
  const finish = await send(`${server.authUrl}/interact/${id}/${nonce}/finish`, {
    headers: { cookie }
  })
  return { finish, details: details.body, idpLocation }
}

/**
 * Plays the browser on opas's built-in consent screen (no IdP configured): start (302 to the
 * screen with the session cookie), the page, the form's answer, then the finish it leads to.
 */
export async function driveConsentScreen(
  redirect: string,
  choice: 'accept' | 'decline'
): Promise<{ finish: TestResponse; page: TestResponse }> {
  const start = await send(redirect, {})
  assert.equal(start.status, 302, `interaction start answered ${start.status}: ${start.text}`)
  const consentUrl = start.headers.get('location')!
  assert.match(consentUrl, /\/consent$/, 'the start leads to the built-in consent screen')
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!
  const page = await send(consentUrl, { headers: { cookie } })
  assert.equal(page.status, 200, page.text)
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1]
  assert.ok(csrf, 'the consent form carries its anti-forgery token')
  const answered = await send(consentUrl, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, choice }).toString()
  })
  assert.equal(answered.status, 303, answered.text)
  const finish = await send(answered.headers.get('location')!, { headers: { cookie } })
  return { finish, page }
}
