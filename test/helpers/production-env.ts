/**
 * A production configuration complete but for the service API's protection (SERVICE_API_SECRET
 * or SERVICE_API_AUTH), which each test adds or leaves out; the database is never reached.
 */
export const productionEnv = {
  NODE_ENV: 'production',
  AUTH_SERVER_URL: 'https://auth.example.com',
  IDENTITY_SERVER_URL: 'https://idp.example.com/consent',
  OPERATOR_TENANT_ID: '9f1d3c2e-5b7a-4c8d-9e0f-1a2b3c4d5e6f',
  IDENTITY_SERVER_SECRET: 'i'.repeat(32),
  ADMIN_API_SECRET: 'a'.repeat(32),
  COOKIE_KEY: 'k'.repeat(32),
  TENANT_SECRETS_KEY: 't'.repeat(32),
  AUTH_DATABASE_URL: 'postgresql://opas@db.internal:5432/opas'
}
