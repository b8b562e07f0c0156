import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import formatsModule from 'ajv-formats'
import { parse } from 'yaml'

/**
 * Response contract checks against an OpenAPI 3.1 document: `validateResponse` returns the
 * contract errors of one response (empty when it conforms). A status the operation does not
 * list is an error; a response declared without content must have an empty body.
 */
export interface OpenApiContract {
  validateResponse(path: string, method: string, status: number, body: unknown): string[]
}

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = formatsModule.default

const UINT64_MAX = 18_446_744_073_709_551_615n

/** `format: uint64` (Open Payments amounts): a decimal string within 0..2^64-1. */
export function isUint64String(value: string): boolean {
  return /^(0|[1-9][0-9]{0,19})$/.test(value) && BigInt(value) <= UINT64_MAX
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Rewrites the document for JSON Schema 2020-12: OpenAPI 3.0's `nullable: true` becomes a
 * `null` type, and local `#/...` references become absolute ones under the document's id, so a
 * schema compiled on its own still resolves `#/components/...` inside the registered document.
 */
function normalise(node: Json, docId: string): Json {
  if (Array.isArray(node)) return node.map((item) => normalise(item, docId))
  if (!isObject(node)) return node
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable') continue
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#')) {
      out[key] = `${docId}${value}`
    } else {
      out[key] = normalise(value, docId)
    }
  }
  if (node.nullable === true) {
    const type = out.type
    if (typeof type === 'string') out.type = [type, 'null']
    else if (Array.isArray(type) && !type.includes('null')) out.type = [...type, 'null']
  }
  return out
}

/** Resolves a local `#/a/b` reference of an OpenAPI object (responses may be `$ref`s). */
function deref(doc: JsonObject, node: Json | undefined): Json | undefined {
  let current = node
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
    if (hops > 16) throw new Error('reference cycle')
    const pointer = current.$ref.slice(current.$ref.indexOf('#') + 1)
    let target: Json | undefined = doc
    for (const raw of pointer.split('/').slice(1)) {
      const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
      target = isObject(target) ? target[key] : undefined
    }
    current = target
  }
  return current
}

const formatError = (e: ErrorObject) =>
  `${e.instancePath || '(body)'} ${e.message ?? e.keyword}${
    e.keyword === 'enum' || e.keyword === 'const' ? ` ${JSON.stringify(e.params)}` : ''
  }`

let documentCount = 0

/** Loads an OpenAPI 3.1 YAML document and returns its response validator. */
export function loadOpenApiContract(file: string): OpenApiContract {
  const docId = `https://opas.test/contract/${++documentCount}/openapi.json`
  const raw = parse(readFileSync(file, 'utf8')) as Json
  if (!isObject(raw) || typeof raw.openapi !== 'string' || !raw.openapi.startsWith('3.1')) {
    throw new Error(`${file} is not an OpenAPI 3.1 document`)
  }
  const doc = normalise(raw, docId) as JsonObject
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true })
  addFormats(ajv)
  ajv.addFormat('uint64', { type: 'string', validate: isUint64String })
  // `$id` makes the document the base of every absolute reference built by normalise().
  ajv.addSchema({ ...doc, $id: docId })

  const compiled = new Map<string, ValidateFunction>()

  function validateResponse(path: string, method: string, status: number, body: unknown): string[] {
    const where = `${method.toUpperCase()} ${path} ${status}`
    const item = deref(doc, isObject(doc.paths) ? doc.paths[path] : undefined)
    const operation = isObject(item) ? deref(doc, item[method.toLowerCase()]) : undefined
    if (!isObject(operation) || !isObject(operation.responses)) {
      return [`${method.toUpperCase()} ${path}: no such operation in the spec`]
    }
    const responses = operation.responses
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in responses)
    if (key === undefined) {
      return [`${where}: status not listed (spec lists ${Object.keys(responses).join(', ')})`]
    }
    const response = deref(doc, responses[key])
    const content = isObject(response) ? response.content : undefined
    if (!isObject(content) || Object.keys(content).length === 0) {
      return body === undefined || body === '' ? [] : [`${where}: body must be empty`]
    }
    const mediaType = 'application/json' in content ? 'application/json' : Object.keys(content)[0]!
    const media = content[mediaType]
    if (!isObject(media) || media.schema === undefined) return []
    const cacheKey = `${path} ${method.toLowerCase()} ${key} ${mediaType}`
    let validate = compiled.get(cacheKey)
    if (!validate) {
      validate = ajv.compile(media.schema as object)
      compiled.set(cacheKey, validate)
    }
    // An empty body stands for `null`: fine for a nullable schema (a redirect's text/html).
    if (body === undefined) {
      return validate(null) ? [] : [`${where}: ${mediaType} body expected, got none`]
    }
    if (validate(body)) return []
    return (validate.errors ?? []).map((e) => `${where}: ${formatError(e)}`)
  }

  return { validateResponse }
}
