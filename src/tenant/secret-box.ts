import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Secrets that must be read back (a tenant's API secret is an HMAC key), kept encrypted at
 * rest: AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce per secret. The stored form is
 * nonce ‖ ciphertext ‖ tag; the tenant id is bound as associated data, so a ciphertext copied to
 * another tenant's row does not decrypt. The 256-bit key is derived from TENANT_SECRETS_KEY
 * with HKDF-SHA256 (RFC 5869), so any long random string works as the setting.
 */
export interface SecretBox {
  seal(plaintext: string, tenantId: string): Buffer
  /** Undefined when the stored value was not sealed by this key for this tenant. */
  open(sealed: Uint8Array, tenantId: string): string | undefined
}

const NONCE_BYTES = 12
const TAG_BYTES = 16

export function createSecretBox(configuredKey: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', configuredKey, '', 'opas tenant api secret', 32))
  return {
    seal(plaintext, tenantId) {
      const nonce = randomBytes(NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(Buffer.from(tenantId))
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return Buffer.concat([nonce, body, cipher.getAuthTag()])
    },
    open(sealed, tenantId) {
      if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined
      const bytes = Buffer.from(sealed)
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES))
          .setAAD(Buffer.from(tenantId))
          .setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
        return Buffer.concat([
          decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
          decipher.final()
        ]).toString('utf8')
      } catch {
        return undefined
      }
    }
  }
}
