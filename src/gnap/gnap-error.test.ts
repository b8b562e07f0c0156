import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  GnapError,
  internalError,
  invalidClient,
  invalidContinuation,
  invalidInteraction,
  invalidRequest,
  invalidRotation,
  requestDenied,
  tooFast,
  tooManyAttempts,
  unavailable,
  unknownInteraction,
  userDenied
} from './gnap-error.js'

test('each named constructor carries its code and default status; a site may pass another', () => {
  const cases: [GnapError, number, string][] = [
    [invalidRequest('x'), 400, 'invalid_request'],
    [invalidClient('x'), 401, 'invalid_client'],
    [invalidInteraction('x'), 400, 'invalid_interaction'],
    [invalidRotation('x'), 404, 'invalid_rotation'],
    [invalidContinuation('x'), 401, 'invalid_continuation'],
    [userDenied('x'), 401, 'user_denied'],
    [requestDenied('x'), 401, 'request_denied'],
    [unknownInteraction('x'), 404, 'unknown_interaction'],
    [tooFast('x'), 400, 'too_fast'],
    [tooManyAttempts('x'), 429, 'too_many_attempts'],
    [unavailable('x'), 503, 'request_denied']
  ]
  for (const [err, status, code] of cases) {
    assert.ok(err instanceof GnapError)
    assert.deepEqual([err.status, err.code, err.description], [status, code, 'x'])
  }
  assert.equal(invalidContinuation('grant not found', 404).status, 404)
  const headers = { 'retry-after': '1' }
  assert.deepEqual(tooManyAttempts('slow down', undefined, { headers }).headers, headers)
  const internal = internalError()
  assert.deepEqual(
    [internal.status, internal.code, internal.description],
    [500, 'request_denied', 'internal server error']
  )
})
