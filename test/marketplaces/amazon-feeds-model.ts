/**
 * Amazon's Feeds API model (Swagger 2.0) and the JSON_LISTINGS_FEED v2 schemas as validators for
 * contract tests. Read from ../shared/reference relative to the repo root (process.cwd()).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { CapturedRequest } from './fakes.js';

const REF = resolve(process.cwd(), '../shared/reference/amazon-sp-api');
export const FEEDS_MODEL_PATH = `${REF}/models/feeds-api-model/feeds_2021-06-30.json`;
export const FEEDS_SCHEMAS_DIR = `${REF}/schemas/feeds`;

interface Param {
  name: string;
  in: string;
  required?: boolean;
  schema?: { $ref?: string };
}
type Op = { operationId: string; parameters?: Param[] };
interface Doc {
  paths: Record<string, Record<string, Op> & { parameters?: Param[] }>;
}

export function readFeedsJson(name: string): unknown {
  return JSON.parse(readFileSync(`${FEEDS_SCHEMAS_DIR}/${name}`, 'utf8')) as unknown;
}

export function loadFeedsModel() {
  const doc = JSON.parse(readFileSync(FEEDS_MODEL_PATH, 'utf8')) as Doc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormatsModule.default(ajv);
  ajv.addSchema(doc as object, 'feeds');
  const feedSchema = ajv.compile(readFeedsJson('listings-feed-schema-v2.json') as object);
  const reportSchema = ajv.compile(readFeedsJson('listings-feed-processing-report-schema-v2.json') as object);

  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}$`),
  }));

  const errorsOf = (v: { errors?: { instancePath: string; message?: string }[] | null }) =>
    (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);

  function validateDefinition(name: string, value: unknown): string[] {
    const v = ajv.getSchema(`feeds#/definitions/${name}`);
    if (!v) throw new Error(`no definition ${name}`);
    return v(value) ? [] : errorsOf(v);
  }

  function validateRequest(req: CapturedRequest): { operationId: string | null; errors: string[] } {
    const match = templates.find((t) => t.regex.test(req.url.pathname));
    if (!match) return { operationId: null, errors: [`no path template matches ${req.url.pathname}`] };
    const item = doc.paths[match.template]!;
    const op = item[req.method.toLowerCase()];
    if (!op) return { operationId: null, errors: [`${req.method} not defined on ${match.template}`] };
    const errors: string[] = [];
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])];
    const query = new Set(params.filter((p) => p.in === 'query').map((p) => p.name));
    for (const k of req.url.searchParams.keys()) {
      if (!query.has(k)) errors.push(`query parameter ${k} is not in the model`);
    }
    const bodyParam = params.find((p) => p.in === 'body');
    if (bodyParam) {
      if (req.body === undefined) errors.push('required body missing');
      else {
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
          errors.push('body sent without content-type application/json');
        }
        const v = ajv.getSchema(`feeds${bodyParam.schema?.$ref ?? ''}`);
        if (v && !v(JSON.parse(req.body))) errors.push(...errorsOf(v).map((e) => `body${e}`));
      }
    } else if (req.body !== undefined) {
      errors.push('body sent to an operation without a body parameter');
    }
    if (!req.headers['x-amz-access-token']) errors.push('no x-amz-access-token header');
    return { operationId: op.operationId, errors };
  }

  return {
    validateRequest,
    validateDefinition,
    validateFeed: (v: unknown) => (feedSchema(v) ? [] : errorsOf(feedSchema)),
    validateReport: (v: unknown) => (reportSchema(v) ? [] : errorsOf(reportSchema)),
  };
}
