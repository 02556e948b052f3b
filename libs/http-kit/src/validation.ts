import AjvModule, { type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

// Both are CommonJS modules whose class/function is their `default` export.
const Ajv = AjvModule.default
const addFormats = addFormatsModule.default
type Ajv = InstanceType<typeof Ajv>

const common: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false }

function withFormats(ajv: Ajv): Ajv {
  addFormats(ajv)
  return ajv
}

// Query strings, params and headers arrive as text, so "20" may become 20. A body is JSON and must
// already have the right types: a string where a number belongs is a 400, never silently fixed.
const coercing = withFormats(new Ajv({ ...common, coerceTypes: 'array' }))
const strict = withFormats(new Ajv({ ...common, coerceTypes: false }))

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema as object)
