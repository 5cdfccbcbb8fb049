// Test helpers for deploy/: a small kustomize (exactly the features deploy/k8s uses, and a
// loud error for any other, so a manifest change cannot be silently mis-rendered), and
// accessors for the rendered objects. A real `kustomize build` gives the same objects.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export type Obj = Record<string, any>;

export interface K8sObject extends Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

export interface Rendered {
  objects: K8sObject[];
  /** Secret generator inputs that do not exist in the repository (made by `pipa gen-certs`). */
  missingSecretFiles: string[];
}

/** Every YAML document of a file; throws with the file name on any parse error or warning. */
export function readYamlDocs(path: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const out: Obj[] = [];
  for (const d of docs) {
    const problems = [...d.errors, ...d.warnings];
    if (problems.length) throw new Error(`${path}: ${problems.map((e) => e.message).join('; ')}`);
    const v = d.toJS() as Obj | null;
    if (v !== null) out.push(v);
  }
  return out;
}

const KNOWN_KEYS = new Set(['apiVersion', 'kind', 'resources', 'generatorOptions', 'configMapGenerator', 'secretGenerator', 'patches']);

function unescapePointer(p: string): string[] {
  return p.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 add / replace / remove (what the overlays use). */
export function applyJsonPatch(doc: Obj, ops: Obj[], where: string): void {
  for (const op of ops) {
    const keys = unescapePointer(String(op.path));
    const last = keys.pop() as string;
    let node: any = doc;
    for (const k of keys) {
      node = Array.isArray(node) ? node[Number(k)] : node?.[k];
      if (node === undefined) throw new Error(`${where}: patch path ${op.path} does not exist`);
    }
    if (op.op === 'add') {
      if (Array.isArray(node)) node.splice(last === '-' ? node.length : Number(last), 0, op.value);
      else node[last] = op.value;
    } else if (op.op === 'replace') {
      if (!(Array.isArray(node) ? Number(last) < node.length : last in node)) throw new Error(`${where}: replace of missing ${op.path}`);
      node[Array.isArray(node) ? Number(last) : last] = op.value;
    } else if (op.op === 'remove') {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete node[last];
    } else {
      throw new Error(`${where}: patch op '${op.op}' is not supported by the test renderer`);
    }
  }
}

function generate(dir: string, kind: 'ConfigMap' | 'Secret', gen: Obj, missing: string[]): { obj: K8sObject; behavior: string } {
  const data: Record<string, string> = {};
  for (const lit of (gen.literals ?? []) as string[]) {
    const eq = lit.indexOf('=');
    data[lit.slice(0, eq)] = lit.slice(eq + 1);
  }
  for (const f of (gen.files ?? []) as string[]) {
    const [key, rel] = f.includes('=') ? f.split('=') : [basename(f), f];
    const path = join(dir, rel);
    if (existsSync(path)) data[key] = readFileSync(path, 'utf8');
    else if (kind === 'Secret') {
      missing.push(path);
      data[key] = '';
    } else throw new Error(`${dir}: configMapGenerator ${gen.name} file ${rel} does not exist`);
  }
  const obj: K8sObject = { apiVersion: 'v1', kind, metadata: { name: gen.name } };
  if (kind === 'Secret') {
    obj.type = 'Opaque';
    obj.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  } else obj.data = data;
  return { obj, behavior: gen.behavior ?? 'create' };
}

/** Renders a kustomization directory (resources, generators, JSON 6902 patches). */
export function kustomize(dirIn: string): Rendered {
  const dir = resolve(dirIn);
  const k = readYamlDocs(join(dir, 'kustomization.yaml'))[0];
  const unknown = Object.keys(k).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length) throw new Error(`${dir}/kustomization.yaml uses ${unknown.join(', ')}: teach test/unit/deploy-render.ts first`);
  const objects: K8sObject[] = [];
  const missingSecretFiles: string[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const p = join(dir, r);
    if (statSync(p).isDirectory()) {
      const sub = kustomize(p);
      objects.push(...sub.objects);
      missingSecretFiles.push(...sub.missingSecretFiles);
    } else objects.push(...(readYamlDocs(p) as K8sObject[]));
  }
  const gens = [
    ...((k.configMapGenerator ?? []) as Obj[]).map((g) => generate(dir, 'ConfigMap', g, missingSecretFiles)),
    ...((k.secretGenerator ?? []) as Obj[]).map((g) => generate(dir, 'Secret', g, missingSecretFiles)),
  ];
  if (gens.length && k.generatorOptions?.disableNameSuffixHash !== true) {
    throw new Error(`${dir}: generators with name hashes are not supported by the test renderer`);
  }
  for (const { obj, behavior } of gens) {
    const existing = objects.find((o) => o.kind === obj.kind && o.metadata.name === obj.metadata.name);
    if (behavior === 'merge') {
      if (!existing) throw new Error(`${dir}: ${obj.kind} ${obj.metadata.name} merged but not defined in a base`);
      existing.data = { ...existing.data, ...obj.data };
    } else if (existing) throw new Error(`${dir}: ${obj.kind} ${obj.metadata.name} generated twice (use behavior: merge)`);
    else objects.push(obj);
  }
  for (const p of (k.patches ?? []) as Obj[]) {
    const ops = parseYaml(String(p.patch)) as unknown;
    if (!Array.isArray(ops)) throw new Error(`${dir}: only JSON 6902 patches are supported by the test renderer`);
    const targets = objects.filter((o) => o.kind === p.target?.kind && o.metadata.name === p.target?.name);
    if (targets.length !== 1) throw new Error(`${dir}: patch target ${p.target?.kind}/${p.target?.name} matches ${targets.length} objects`);
    applyJsonPatch(targets[0], ops as Obj[], `${dir} patch ${p.target.kind}/${p.target.name}`);
  }
  return { objects, missingSecretFiles };
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`rendered manifests have no ${kind} ${name} (have: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return o;
}

/** The pod template of a workload (Deployment, Job, StatefulSet). */
export function podSpec(o: K8sObject): Obj {
  return o.spec.template.spec;
}

/** Resolves a container's env var: literal value, or a configMapKeyRef into the rendered set. */
export function envValue(objects: readonly K8sObject[], container: Obj, name: string): string | undefined {
  const e = ((container.env ?? []) as Obj[]).find((x) => x.name === name);
  if (!e) return undefined;
  if (e.value !== undefined) return String(e.value);
  const ref = e.valueFrom?.configMapKeyRef;
  if (ref) return find(objects, 'ConfigMap', ref.name).data?.[ref.key];
  // Known only at run time (e.g. status.podIP): a stand-in that still reads as a value.
  const field = e.valueFrom?.fieldRef?.fieldPath;
  if (field) return `<${field}>`;
  return undefined;
}

/** Container args with Kubernetes' $(VAR) references expanded from the container's env. */
export function expandedArgs(objects: readonly K8sObject[], container: Obj): string[] {
  return ((container.args ?? []) as unknown[]).map((a) =>
    String(a).replace(/\$\((\w+)\)/g, (m, v: string) => envValue(objects, container, v) ?? m),
  );
}

/** Value of `--flag` in an argv (all values when repeated). */
export function flagValues(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === flag && i + 1 < args.length) out.push(args[i + 1]);
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  });
  return out;
}

export function flagValue(args: readonly string[], flag: string): string | undefined {
  return flagValues(args, flag)[0];
}

/** Instructions of a Dockerfile ([keyword, rest]), continuation lines joined, comments dropped. */
export function dockerInstructions(path: string): Array<[string, string]> {
  const lines = readFileSync(path, 'utf8').replace(/\\\r?\n/g, ' ').split('\n');
  return lines
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`${path}: cannot parse '${l}'`);
      return [m[1].toUpperCase(), m[2].replace(/\s+/g, ' ')] as [string, string];
    });
}

/** .dockerignore semantics for plain paths: last matching pattern wins, `!` re-includes. */
export function dockerIgnored(patterns: readonly string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const pat = (neg ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(`^${pat.split('/').map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))).join('/')}(/.*)?$`);
    if (re.test(path)) ignored = !neg;
  }
  return ignored;
}
