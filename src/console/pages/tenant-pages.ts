import type { TenantView } from '../../tenant/tenant-directory.js'
import { MIN_SECRET_LENGTH } from '../../tenant/tenant-rules.js'
import { consolePage, e, formTokenField, when, type Viewer } from './layout.js'

/**
 * The operator's tenants pages: list, create, edit the IdP settings, the API secret and the
 * tenant's own webhook receiver, delete; and the secrets generated, shown once.
 */

export function tenantListPage(view: {
  viewer: Viewer
  tenants: (TenantView & { createdAt: Date })[]
  flash?: string
}) {
  const rows = view.tenants.map((t) => {
    const operator = t.id === view.viewer.tenantId ? ' <span class="state">operator</span>' : ''
    return `<li>
<div class="row-head"><a href="/tenants/${e(t.id)}" class="mono">${e(t.id)}</a>${operator}</div>
<p class="detail">Identity provider: ${t.idpConsentUrl ? `<code>${e(t.idpConsentUrl)}</code>` : 'none (the built-in consent screen, when on)'}${t.hasIdpSecret ? '' : '; no IdP secret'}</p>
<p class="detail">Webhooks: ${t.webhookUrl ? `<code>${e(t.webhookUrl)}</code>` : "the server's (WEBHOOK_URL, when set)"}</p>
<p class="detail muted">Created ${when(t.createdAt)} · <a href="/grants?tenant=${e(t.id)}">Grants</a></p>
</li>`
  })
  return consolePage(
    {
      title: 'Tenants',
      viewer: view.viewer,
      section: 'tenants',
      ...(view.flash ? { flash: view.flash } : {})
    },
    `<h1>Tenants</h1>
<p><a class="button" href="/tenants/new">New tenant</a></p>
<ul class="rows" aria-label="Tenants, oldest first">${rows.join('')}</ul>`
  )
}

/** What the tenant form was given, shown again with the problem when it is refused. */
export interface TenantFormValues {
  id?: string
  idpConsentUrl?: string
  webhookUrl?: string
}

const webhookUrlHint =
  "Where this tenant's grant and token events are sent, signed with its own secret; empty for the server's (WEBHOOK_URL)."

const problemOf = (problem: string | undefined) =>
  problem ? `<p class="error" role="alert">${e(problem)}</p>` : ''

export function newTenantPage(view: {
  viewer: Viewer
  values: TenantFormValues
  problem?: string
}) {
  return consolePage(
    { title: 'New tenant', viewer: view.viewer, section: 'tenants' },
    `<h1>New tenant</h1>
${problemOf(view.problem)}<form class="fields" method="post" action="/tenants">
${formTokenField(view.viewer)}
<label for="id">Tenant ID<span class="hint">A UUID; the backend's id for this tenant.</span>
<input id="id" name="id" required spellcheck="false" autocapitalize="none" value="${e(view.values.id ?? '')}"></label>
<label for="api-secret">API secret<span class="hint">Signs the tenant's admin API requests and its console sign-in. At least ${MIN_SECRET_LENGTH} characters; leave empty to have one generated and shown once. Give it to the tenant only.</span>
<input id="api-secret" name="apiSecret" type="password" minlength="${MIN_SECRET_LENGTH}" autocomplete="new-password"></label>
<label for="idp-url">IdP consent URL<span class="hint">Where account holders consent; empty for none.</span>
<input id="idp-url" name="idpConsentUrl" type="url" inputmode="url" value="${e(view.values.idpConsentUrl ?? '')}"></label>
<label for="idp-secret">IdP secret<span class="hint">The identity provider's x-idp-secret, at least ${MIN_SECRET_LENGTH} characters; empty for none.</span>
<input id="idp-secret" name="idpSecret" type="password" minlength="${MIN_SECRET_LENGTH}" autocomplete="new-password"></label>
<label for="webhook-url">Webhook URL<span class="hint">${e(webhookUrlHint)}</span>
<input id="webhook-url" name="webhookUrl" type="url" inputmode="url" value="${e(view.values.webhookUrl ?? '')}"></label>
<label for="webhook-secret">Webhook secret<span class="hint">The key of its webhooks' Rafiki-Signature, at least ${MIN_SECRET_LENGTH} characters; leave empty to have one generated and shown once.</span>
<input id="webhook-secret" name="webhookSecret" type="password" minlength="${MIN_SECRET_LENGTH}" autocomplete="new-password"></label>
<div class="actions"><button type="submit">Create tenant</button><a class="button quiet" href="/tenants">Cancel</a></div>
</form>`
  )
}

export function tenantPage(view: {
  viewer: Viewer
  tenant: TenantView
  values?: TenantFormValues
  problem?: string
  flash?: string
}) {
  const { tenant, viewer } = view
  const url = view.values?.idpConsentUrl ?? tenant.idpConsentUrl ?? ''
  const webhookUrl = view.values?.webhookUrl ?? tenant.webhookUrl ?? ''
  const isOperator = tenant.id === viewer.tenantId
  const id = e(tenant.id)
  return consolePage(
    {
      title: `Tenant ${tenant.id}`,
      viewer,
      section: 'tenants',
      ...(view.flash ? { flash: view.flash } : {})
    },
    `<h1>Tenant <span class="mono">${id}</span></h1>
${isOperator ? '<p>This is the operator tenant. Settings given in the environment win over these at the next start.</p>' : ''}
${problemOf(view.problem)}<form class="fields" method="post" action="/tenants/${id}">
${formTokenField(viewer)}
<label for="idp-url">IdP consent URL<span class="hint">Empty for none.</span>
<input id="idp-url" name="idpConsentUrl" type="url" inputmode="url" value="${e(url)}"></label>
<fieldset><legend>IdP secret (${tenant.hasIdpSecret ? 'set' : 'not set'}; stored hashed, never shown)</legend>
<label><input type="radio" name="idpSecretChange" value="keep" checked> Keep it</label>
<label><input type="radio" name="idpSecretChange" value="set"> Set the one below</label>
<label><input type="radio" name="idpSecretChange" value="clear"> Remove it</label>
</fieldset>
<label for="idp-secret">New IdP secret<span class="hint">At least ${MIN_SECRET_LENGTH} characters.</span>
<input id="idp-secret" name="idpSecret" type="password" minlength="${MIN_SECRET_LENGTH}" autocomplete="new-password"></label>
<label for="api-secret">New API secret<span class="hint">At least ${MIN_SECRET_LENGTH} characters; leave empty to keep it. A new one ends the tenant's console sessions${isOperator ? ', yours included' : ''}.</span>
<input id="api-secret" name="apiSecret" type="password" minlength="${MIN_SECRET_LENGTH}" autocomplete="new-password"></label>
<label for="webhook-url">Webhook URL<span class="hint">${e(webhookUrlHint)} Emptied, its webhook secret goes too.</span>
<input id="webhook-url" name="webhookUrl" type="url" inputmode="url" value="${e(webhookUrl)}"></label>
<fieldset><legend>Webhook secret (${tenant.hasWebhookSecret ? 'set' : 'not set'}; stored encrypted, never shown again)</legend>
<label><input type="radio" name="webhookSecretChange" value="keep" checked> Keep it (one is generated for a new URL)</label>
<label><input type="radio" name="webhookSecretChange" value="set"> Set the one below</label>
<label><input type="radio" name="webhookSecretChange" value="generate"> Generate a new one, shown once</label>
</fieldset>
<label for="webhook-secret">New webhook secret<span class="hint">At least ${MIN_SECRET_LENGTH} characters.</span>
<input id="webhook-secret" name="webhookSecret" type="password" minlength="${MIN_SECRET_LENGTH}" autocomplete="new-password"></label>
<div class="actions"><button type="submit">Save</button><a class="button quiet" href="/tenants">Cancel</a></div>
</form>
${
  isOperator
    ? ''
    : `<h2>Delete</h2><form method="get" action="/tenants/${id}/delete"><button type="submit" class="danger">Delete tenant</button></form>`
}`
  )
}

/**
 * The secrets a change generated, shown this once (console pages are never cached, and a secret
 * is never put in a URL): the API secret of a new tenant, a webhook secret.
 */
export function generatedSecretsPage(view: {
  viewer: Viewer
  title: 'Tenant created' | 'Tenant saved'
  tenantId: string
  secrets: { apiSecret?: string | undefined; webhookSecret?: string | undefined }
}) {
  const { apiSecret, webhookSecret } = view.secrets
  const shown = [
    apiSecret === undefined ? '' : `<p>Its API secret, shown this once: ${e(apiSecret)}</p>`,
    webhookSecret === undefined
      ? ''
      : `<p>Its webhook secret, shown this once: ${e(webhookSecret)}</p>`
  ]
  return consolePage(
    { title: view.title, viewer: view.viewer, section: 'tenants' },
    `<h1>${e(view.title)}</h1>
${shown.join('')}
<p><a href="/tenants/${e(view.tenantId)}">The tenant</a></p>`
  )
}

export function confirmDeleteTenantPage(view: { viewer: Viewer; tenant: TenantView }) {
  const id = e(view.tenant.id)
  return consolePage(
    { title: 'Delete this tenant?', viewer: view.viewer, section: 'tenants' },
    `<h1>Delete tenant <span class="mono">${id}</span>?</h1>
<p>Its apps can no longer ask for grants, its tokens introspect inactive and it can no longer sign in. Its grants are kept. A deleted tenant's id cannot be used again.</p>
<div class="actions">
<form method="post" action="/tenants/${id}/delete">${formTokenField(view.viewer)}<button type="submit" class="danger">Confirm delete</button></form>
<a class="button quiet" href="/tenants/${id}">Cancel</a>
</div>`
  )
}
