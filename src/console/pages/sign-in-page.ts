import { consolePage, e } from './layout.js'

export interface SignInView {
  /** The sign-in form's anti-forgery token (bound to the browser's nonce cookie). */
  formToken: string
  /** The tenant id typed before, kept when a sign-in fails (never the secret). */
  tenantId?: string
  /** Why the form is shown again: a failed sign-in, an ended session. */
  problem?: string
  /** The console page to return to after signing in (a path of the console). */
  next?: string
}

/** The sign-in page at `/`: a tenant's id and its API secret. */
export function signInPage(view: SignInView) {
  const problem = view.problem
    ? `<p class="error" role="alert" id="sign-in-problem">${e(view.problem)}</p>`
    : ''
  const described = view.problem ? ' aria-describedby="sign-in-problem"' : ''
  return consolePage(
    { title: 'Sign in' },
    `<h1>Sign in to the opas console</h1>
${problem}<form class="fields" method="post" action="/sign-in"${described}>
<input type="hidden" name="csrf" value="${e(view.formToken)}">
${view.next ? `<input type="hidden" name="next" value="${e(view.next)}">` : ''}
<label for="tenant-id">Tenant ID
<span class="hint">The operator's tenant ID (OPERATOR_TENANT_ID) sees every tenant; a tenant's sees its own grants.</span>
<input id="tenant-id" name="tenantId" required autocomplete="username" spellcheck="false" autocapitalize="none" value="${e(view.tenantId ?? '')}"${view.tenantId ? '' : ' autofocus'}></label>
<label for="api-secret">API secret
<span class="hint">The secret that signs the tenant's admin API requests.</span>
<input id="api-secret" name="apiSecret" type="password" required autocomplete="current-password"${view.tenantId ? ' autofocus' : ''}></label>
<div class="actions"><button type="submit">Sign in</button></div>
</form>`
  )
}
