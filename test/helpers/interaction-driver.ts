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

/** A browser on the built-in consent screen, after following the interaction link. */
export interface OpenedConsent {
  /** The screen's URL (GET shows the question, POST answers it). */
  url: string
  /** The interaction's session cookie, as `name=value`. */
  cookie: string
  page: TestResponse
  /** The form's anti-forgery token, or '' when the page has no form. */
  csrf: string
  /** What the browser sends with every request (Accept). */
  headers: Record<string, string>
}

/**
 * The browser opens `redirect`: 302 to opas's built-in consent screen (no IdP configured) with
 * the session cookie, then the page.
 */
export async function openConsentScreen(
  redirect: string,
  headers: Record<string, string> = {}
): Promise<OpenedConsent> {
  const start = await send(redirect, { headers })
  assert.equal(start.status, 302, `interaction start answered ${start.status}: ${start.text}`)
  const url = start.headers.get('location')!
  assert.match(url, /\/interact\/[^/]+\/[^/]+\/consent$/, 'the start leads to the consent screen')
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!
  const page = await send(url, { headers: { ...headers, cookie } })
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? ''
  return { url, cookie, page, csrf, headers }
}

/** Posts the consent form as the browser does; `fields` replace its token or its cookie. */
export function answerConsentScreen(
  opened: OpenedConsent,
  choice: string,
  fields: { csrf?: string; cookie?: string } = {}
): Promise<TestResponse> {
  return send(opened.url, {
    method: 'POST',
    headers: {
      ...opened.headers,
      'content-type': 'application/x-www-form-urlencoded',
      cookie: fields.cookie ?? opened.cookie
    },
    body: new URLSearchParams({ csrf: fields.csrf ?? opened.csrf, choice }).toString()
  })
}

/**
 * Plays the browser on opas's built-in consent screen: start, the page, the form's answer, then
 * the finish it leads to.
 */
export async function driveConsentScreen(
  redirect: string,
  choice: 'accept' | 'decline'
): Promise<{ finish: TestResponse; page: TestResponse }> {
  const opened = await openConsentScreen(redirect)
  assert.equal(opened.page.status, 200, opened.page.text)
  assert.ok(opened.csrf, 'the consent form carries its anti-forgery token')
  const answered = await answerConsentScreen(opened, choice)
  assert.equal(answered.status, 303, answered.text)
  const finish = await send(answered.headers.get('location')!, {
    headers: { cookie: opened.cookie }
  })
  return { finish, page: opened.page }
}

/**
 * The `interact_ref` opas holds for a grant's interaction, found by the grant's continue URI:
 * what a client would send had it been given one (a rejected interaction's finish carries none).
 */
export async function interactRefFor(
  server: Pick<TestServer, 'services'>,
  continueUri: string
): Promise<string> {
  const { rows } = await server.services.db.query<{ ref: string }>(
    `select i.ref from interactions i join grants g on g.id = i.grant_id
     where g.continue_id = $1`,
    [new URL(continueUri).pathname.split('/').pop()]
  )
  assert.equal(rows.length, 1, `one interaction for ${continueUri}`)
  return rows[0]!.ref
}
