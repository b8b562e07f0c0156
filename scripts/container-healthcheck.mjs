#!/usr/bin/env node
// The container image's HEALTHCHECK (Dockerfile, compose.yaml): exits 0 when the auth listener
// of the opas in this container answers GET /readyz with 200 (the database answers and is
// migrated), 1 otherwise, saying why on stderr. Node itself asks, so the image needs no curl.
// The address comes from opas's own configuration loader (the environment, then ENV_FILE), so a
// changed AUTH_PORT or AUTH_LISTEN_HOST is followed; a wildcard address is asked on loopback.
import { existsSync, readFileSync } from 'node:fs'
import { isIP } from 'node:net'

const TIMEOUT_MS = 4000

function fail(message) {
  process.stderr.write(`unhealthy: ${message}\n`)
  process.exit(1)
}

let config
try {
  const { loadConfig } = await import('../dist/config/index.js')
  const readFile = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined)
  config = loadConfig(process.env, readFile).config
} catch (err) {
  fail(`the configuration does not load: ${err instanceof Error ? err.message : String(err)}`)
}

const wildcard = { '0.0.0.0': '127.0.0.1', '::': '::1' }
const host = wildcard[config.authListenHost] ?? config.authListenHost
const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${config.authPort}/readyz`
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  if (res.status !== 200) fail(`${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`)
} catch (err) {
  fail(`${url}: ${err instanceof Error ? (err.cause?.message ?? err.message) : String(err)}`)
}
