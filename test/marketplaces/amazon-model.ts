/**
 * Amazon's models (Swagger 2.0: Listings Items 2021-08-01, Orders 2026-01-01 and v0) as
 * request/response validators for contract tests. The models are read from ../shared/reference
 * relative to the repo root (process.cwd()).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const MODELS = resolve(process.cwd(), '../shared/reference/amazon-sp-api/models');
export const LISTINGS_MODEL_PATH = resolve(MODELS, 'listings-items-api-model/listingsItems_2021-08-01.json');
export const ORDERS_2026_MODEL_PATH = resolve(MODELS, 'orders-api-model/orders_2026-01-01.json');
export const ORDERS_V0_MODEL_PATH = resolve(MODELS, 'orders-api-model/ordersV0.json');

export function loadListingsModel() {
  return loadSwaggerModel(LISTINGS_MODEL_PATH, 'listings');
}

export function loadOrders2026Model() {
  return loadSwaggerModel(ORDERS_2026_MODEL_PATH, 'orders2026');
}

export function loadOrdersV0Model() {
  return loadSwaggerModel(ORDERS_V0_MODEL_PATH, 'ordersV0');
}

interface SwaggerParameter {
  name: string;
  in: 'path' | 'query' | 'body' | 'header';
  required?: boolean;
  type?: string;
  enum?: string[];
  maxItems?: number;
  items?: { enum?: string[] };
  schema?: { $ref?: string };
}

interface SwaggerResponse {
  schema?: { $ref?: string };
  headers?: Record<string, unknown>;
  'x-amzn-api-sandbox'?: { static?: { request: unknown; response: unknown }[] };
}

interface SwaggerOperation {
  operationId: string;
  parameters?: SwaggerParameter[];
  responses: Record<string, SwaggerResponse>;
}

type PathItem = Record<string, SwaggerOperation> & { parameters?: SwaggerParameter[] };

export interface SwaggerDoc {
  paths: Record<string, PathItem>;
  definitions: Record<string, unknown>;
}

export interface RequestLike {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

const METHODS = ['get', 'put', 'patch', 'delete', 'post'];

/** A Swagger 2.0 model at `path` as a request/response validator (schemas under `name`). */
export function loadSwaggerModel(path: string, name: string) {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as SwaggerDoc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormatsModule.default(ajv);
  ajv.addSchema(doc as object, name);

  const templates = Object.keys(doc.paths).map((template) => {
    const names: string[] = [];
    const source = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { template, names, regex: new RegExp(`^${source}$`) };
  });

  function validator(ref: string) {
    const v = ajv.getSchema(`${name}${ref}`);
    if (!v) throw new Error(`no schema ${ref} in the model`);
    return v;
  }

  /** Validates `value` against `#/definitions/<name>`; returns the errors (empty when valid). */
  function validateDefinition(name: string, value: unknown): string[] {
    const v = validator(`#/definitions/${name}`);
    return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
  }

  /** Which operation a request is, and everything about it that breaks the model. */
  function validateRequest(req: RequestLike): { operationId: string | null; errors: string[] } {
    const errors: string[] = [];
    const match = templates.map((t) => ({ t, m: t.regex.exec(req.url.pathname) })).find((x) => x.m !== null);
    if (!match?.m) return { operationId: null, errors: [`no path template matches ${req.url.pathname}`] };
    const pathItem = doc.paths[match.t.template]!;
    const op = pathItem[req.method.toLowerCase()];
    if (!op || !METHODS.includes(req.method.toLowerCase())) {
      return { operationId: null, errors: [`${req.method} not defined on ${match.t.template}`] };
    }
    const params = [...(pathItem.parameters ?? []), ...(op.parameters ?? [])];
    match.t.names.forEach((name, i) => {
      const raw = match.m![i + 1]!;
      if (decodeURIComponent(raw) === '') errors.push(`path parameter ${name} is empty`);
    });
    const declaredQuery = new Set(params.filter((p) => p.in === 'query').map((p) => p.name));
    for (const key of req.url.searchParams.keys()) {
      if (!declaredQuery.has(key)) errors.push(`query parameter ${key} is not in the model`);
    }
    for (const p of params.filter((x) => x.in === 'query')) {
      const raw = req.url.searchParams.get(p.name);
      if (raw === null) {
        if (p.required) errors.push(`required query parameter ${p.name} missing`);
        continue;
      }
      if (p.type === 'array') {
        const values = raw.split(',');
        if (p.maxItems !== undefined && values.length > p.maxItems) {
          errors.push(`${p.name} has ${values.length} values, max ${p.maxItems}`);
        }
        const allowed = p.items?.enum;
        for (const v of values) {
          if (allowed && !allowed.includes(v))
            errors.push(`${p.name} value ${v} not in ${allowed.join('|')}`);
        }
      } else if (p.enum && !p.enum.includes(raw)) {
        errors.push(`${p.name} value ${raw} not in ${p.enum.join('|')}`);
      }
    }
    const bodyParam = params.find((p) => p.in === 'body');
    if (bodyParam) {
      if (req.body === undefined) {
        if (bodyParam.required) errors.push('required body missing');
      } else {
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
          errors.push('body sent without content-type application/json');
        }
        const ref = bodyParam.schema?.$ref;
        if (ref) {
          const v = validator(ref);
          if (!v(JSON.parse(req.body))) {
            for (const e of v.errors ?? []) errors.push(`body${e.instancePath} ${e.message ?? ''}`);
          }
        }
      }
    } else if (req.body !== undefined) {
      errors.push('body sent to an operation without a body parameter');
    }
    return { operationId: op.operationId, errors };
  }

  /** The `x-amzn-api-sandbox` static examples of one operation, by HTTP status. */
  function sandboxExamples(operationId: string): { status: number; response: unknown }[] {
    const out: { status: number; response: unknown }[] = [];
    for (const pathItem of Object.values(doc.paths)) {
      for (const m of METHODS) {
        const op = pathItem[m];
        if (op?.operationId !== operationId) continue;
        for (const [status, res] of Object.entries(op.responses)) {
          for (const ex of res['x-amzn-api-sandbox']?.static ?? []) {
            out.push({ status: Number(status), response: ex.response });
          }
        }
      }
    }
    return out;
  }

  /** The response schema name (`#/definitions/X`) of an operation and status. */
  function responseDefinition(operationId: string, status: number): string | null {
    for (const pathItem of Object.values(doc.paths)) {
      for (const m of METHODS) {
        const op = pathItem[m];
        if (op?.operationId !== operationId) continue;
        const ref = op.responses[String(status)]?.schema?.$ref;
        return ref ? ref.replace('#/definitions/', '') : null;
      }
    }
    return null;
  }

  /** Response headers the model declares for an operation and status. */
  function responseHeaders(operationId: string, status: number): string[] {
    for (const pathItem of Object.values(doc.paths)) {
      for (const m of METHODS) {
        const op = pathItem[m];
        if (op?.operationId === operationId) return Object.keys(op.responses[String(status)]?.headers ?? {});
      }
    }
    return [];
  }

  return { doc, validateRequest, validateDefinition, sandboxExamples, responseDefinition, responseHeaders };
}
