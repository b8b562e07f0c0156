import assert from 'node:assert/strict'

/** An answer of the console: status, headers, the page. */
export interface ConsoleAnswer {
  status: number
  headers: Headers
  text: string
}

/** The `name=value` pairs a response sets, by name (an expiring clear sets an empty value). */
function cookiesOf(headers: Headers): Map<string, string> {
  const set = new Map<string, string>()
  for (const line of headers.getSetCookie()) {
    const [pair] = line.split(';')
    const at = pair!.indexOf('=')
    set.set(pair!.slice(0, at), pair!.slice(at + 1))
  }
  return set
}

/** The value of the form field `name` on a page (the first one). */
export const formField = (page: string, name: string): string | undefined =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1]

/**
 * The operator console driven over plain HTTP as a browser without script drives it: a cookie
 * jar, form posts (urlencoded, `Accept: text/html`), redirects not followed so each step's
 * answer can be checked.
 */
export function consoleClient(adminUrl: string) {
  const jar = new Map<string, string>()
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ')

  async function request(
    path: string,
    init: { method?: string; form?: Record<string, string>; cookie?: string } = {}
  ) {
    const res = await fetch(`${adminUrl}${path}`, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        accept: 'text/html,application/xhtml+xml',
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        cookie: init.cookie ?? cookieHeader()
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {})
    })
    for (const [name, value] of cookiesOf(res.headers)) {
      if (value === '') jar.delete(name)
      else jar.set(name, value)
    }
    return {
      status: res.status,
      headers: res.headers,
      text: await res.text()
    } satisfies ConsoleAnswer
  }

  return {
    jar,
    get: (path: string, cookie?: string) => request(path, cookie === undefined ? {} : { cookie }),
    post: (path: string, form: Record<string, string>, cookie?: string) =>
      request(path, { form, ...(cookie === undefined ? {} : { cookie }) }),
    /** Opens the sign-in page and posts it; the answer of the post. */
    async signIn(tenantId: string, apiSecret: string): Promise<ConsoleAnswer> {
      const page = await request('/')
      assert.equal(page.status, 200, page.text)
      const csrf = formField(page.text, 'csrf')
      assert.ok(csrf, 'the sign-in form carries a token')
      return request('/sign-in', { form: { csrf, tenantId, apiSecret } })
    },
    /** The session's form token, read from a signed-in page. */
    async formToken(): Promise<string> {
      const page = await request('/grants')
      assert.equal(page.status, 200, page.text)
      const token = formField(page.text, 'csrf')
      assert.ok(token, 'signed-in pages carry the form token')
      return token
    }
  }
}
