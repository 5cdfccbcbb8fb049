// Loading a run config: YAML file (optionally `extends:` another file, deep-merged),
// then `--set a.b=c` overrides, then schema validation and cross-field checks, then
// freeze. The hash identifies the resolved config across processes (Join checks it).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type PipaConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, everything else (arrays included) replaces. */
export function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as JsonObject, v) : v;
  }
  return out;
}

/** Reads a YAML config and the chain of files it `extends` (paths relative to each file). */
export function readConfigTree(path: string, seen: string[] = []): JsonObject {
  const abs = resolve(path);
  if (seen.includes(abs)) throw new ConfigError(`config ${abs}: 'extends' cycle through ${seen.join(' -> ')}`);
  if (!existsSync(abs)) throw new ConfigError(`config file not found: ${abs}`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(abs, 'utf8'));
  } catch (e) {
    throw new ConfigError(`config ${abs}: not valid YAML: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new ConfigError(`config ${abs}: the top level must be a mapping`);
  const { extends: parent, ...rest } = doc;
  if (parent === undefined) return rest;
  if (typeof parent !== 'string') throw new ConfigError(`config ${abs}: 'extends' must be a file path`);
  return deepMerge(readConfigTree(resolve(dirname(abs), parent), [...seen, abs]), rest);
}

/** Applies one `a.b.c=value` override; the value is parsed as YAML (numbers, booleans, [lists]). */
export function applyOverride(tree: JsonObject, assignment: string): JsonObject {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set '${assignment}': expected key.path=value`);
  const path = assignment.slice(0, eq).trim().split('.');
  let value: Json;
  try {
    value = parseYaml(assignment.slice(eq + 1)) as Json;
  } catch (e) {
    throw new ConfigError(`--set '${assignment}': value is not valid YAML: ${(e as Error).message}`);
  }
  const out = structuredClone(tree);
  let node: JsonObject = out;
  for (const key of path.slice(0, -1)) {
    if (node[key] === undefined || node[key] === null) node[key] = {};
    if (!isObject(node[key])) throw new ConfigError(`--set '${assignment}': '${key}' is not a section`);
    node = node[key] as JsonObject;
  }
  node[path[path.length - 1]] = value;
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.join('.') : '(top level)';
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if (issue.code === 'invalid_value' && 'values' in issue) msg = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}: ${msg}`;
}

/** Checks that span several fields (the schema checks each field alone). */
export function crossFieldProblems(c: PipaConfig): string[] {
  const p: string[] = [];
  const div = c.model.hrda.cropCoordDivisible;
  const [ch, cw] = c.model.hrda.hrCropSize;
  if (ch % div || cw % div) p.push(`model.hrda.hrCropSize [${ch}, ${cw}] must be divisible by model.hrda.cropCoordDivisible (${div})`);
  for (const k of ['source', 'target'] as const) {
    const [h, w] = c.data[k].crop;
    if (h < ch || w < cw) p.push(`data.${k}.crop [${h}, ${w}] must be at least model.hrda.hrCropSize [${ch}, ${cw}]`);
  }
  if (c.train.microBatch !== null && c.train.globalBatch % c.train.microBatch) {
    p.push(`train.microBatch (${c.train.microBatch}) must divide train.globalBatch (${c.train.globalBatch})`);
  }
  if (c.model.backbone.preset === null) {
    for (const f of ['embedDims', 'depths', 'numHeads', 'srRatios', 'mlpRatios'] as const) {
      if (!c.model.backbone[f]) p.push(`model.backbone.${f} is required when model.backbone.preset is null`);
    }
  }
  const bad = c.uda.featureDistance.classes.filter((k) => k >= c.model.numClasses);
  if (bad.length) p.push(`uda.featureDistance.classes ${JSON.stringify(bad)} are not below model.numClasses (${c.model.numClasses})`);
  return p;
}

export interface LoadedConfig {
  config: Readonly<PipaConfig>;
  /** sha256 of the canonical JSON of the resolved config. */
  hash: string;
  /** Where it came from, for messages. */
  source: string;
}

export function validateConfig(tree: unknown, source: string): LoadedConfig {
  const r = configSchema.safeParse(tree);
  if (!r.success) {
    throw new ConfigError(`config ${source} is invalid:\n  - ${r.error.issues.map(describeIssue).join('\n  - ')}`);
  }
  const problems = crossFieldProblems(r.data);
  if (problems.length) throw new ConfigError(`config ${source} is inconsistent:\n  - ${problems.join('\n  - ')}`);
  return { config: deepFreeze(r.data), hash: configHash(r.data), source };
}

export function loadConfig(path: string, overrides: readonly string[] = []): LoadedConfig {
  let tree = readConfigTree(path);
  for (const o of overrides) tree = applyOverride(tree, o);
  return validateConfig(tree, overrides.length ? `${path} (with ${overrides.length} --set)` : path);
}

export function configHash(c: PipaConfig): string {
  return createHash('sha256').update(canonicalJson(c)).digest('hex');
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function configToYaml(c: PipaConfig): string {
  return stringifyYaml(c);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
