/**
 * A deliberately small kustomize: exactly the subset deploy/kubernetes uses, so the suite can render the base and
 * the overlay without the kustomize binary. What it renders:
 *
 * - `resources`: YAML files (one or more documents) and directories holding a kustomization.yaml (rendered
 *   recursively, in order);
 * - `patches`: inline RFC 6902 JSON patches (`add`, `replace`, `remove`, `test`) with a `target` of `kind` and/or
 *   `name` (exact match; a patch whose target matches nothing is an error here, stricter than kustomize);
 * - `labels`: `pairs` added to every object's `metadata.labels`, and to pod templates with `includeTemplates`
 *   (`includeSelectors: true` is refused: it would rewrite selectors);
 * - `namespace`: set on every namespaced object (not on Namespace objects);
 * - `images`: `newName`/`newTag`/`digest` for containers whose image name (without tag) equals `name`.
 *
 * Any other kustomization field is refused with an error, so a manifest change that needs more of kustomize fails
 * the suite instead of being silently mis-rendered. Order: resources, patches, labels, namespace, images. Objects
 * come out in file order (kustomize itself sorts them by kind; `kubectl apply` does not depend on the order).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'patches', 'labels', 'namespace', 'images']);
const CLUSTER_SCOPED = new Set(['Namespace']);

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/** Every YAML document of a file, as plain objects (empty documents skipped); a YAML error throws. */
export function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
  return docs
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS();
    })
    .filter((doc) => doc !== null && doc !== undefined);
}

/** The kustomization.yaml of a directory, parsed. */
export function readKustomization(dir: string): Record<string, unknown> {
  return parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
}

/** Renders a kustomization directory into the list of objects `kubectl apply -k` would send. */
export function renderKustomization(dir: string): K8sObject[] {
  const root = resolve(dir);
  const k = readKustomization(root);
  const unsupported = Object.keys(k).filter((field) => !SUPPORTED_FIELDS.has(field));
  if (unsupported.length > 0) throw new Error(`${root}/kustomization.yaml: unsupported field(s) ${unsupported.join(', ')}`);
  if (k.kind !== 'Kustomization') throw new Error(`${root}/kustomization.yaml: kind must be Kustomization`);

  let objects: K8sObject[] = [];
  for (const entry of (k.resources as string[] | undefined) ?? []) {
    const path = resolve(root, entry);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...(readYamlDocuments(path) as K8sObject[]));
  }
  for (const object of objects) {
    if (!object?.apiVersion || !object.kind || !object.metadata?.name) {
      throw new Error(`${root}: a resource without apiVersion, kind or metadata.name: ${JSON.stringify(object).slice(0, 200)}`);
    }
  }
  objects = structuredClone(objects);

  for (const patch of (k.patches as { target?: { kind?: string; name?: string }; patch?: string; path?: string }[] | undefined) ?? []) {
    if (patch.path !== undefined || typeof patch.patch !== 'string' || !patch.target) {
      throw new Error(`${root}: only inline JSON 6902 patches with a target are supported`);
    }
    const targetKeys = Object.keys(patch.target).filter((key) => key !== 'kind' && key !== 'name');
    if (targetKeys.length > 0) throw new Error(`${root}: unsupported patch target field(s) ${targetKeys.join(', ')}`);
    const ops = parse(patch.patch) as JsonPatchOp[];
    if (!Array.isArray(ops)) throw new Error(`${root}: a patch must be a JSON 6902 list of operations`);
    const targets = objects.filter(
      (o) =>
        (patch.target!.kind === undefined || o.kind === patch.target!.kind) &&
        (patch.target!.name === undefined || o.metadata.name === patch.target!.name),
    );
    if (targets.length === 0) throw new Error(`${root}: patch target ${JSON.stringify(patch.target)} matches no resource`);
    for (const target of targets) for (const op of ops) applyJsonPatch(target, op);
  }

  for (const label of (k.labels as
    { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[] | undefined) ?? []) {
    if (label.includeSelectors) throw new Error(`${root}: labels.includeSelectors is not supported`);
    for (const object of objects) {
      object.metadata.labels = { ...object.metadata.labels, ...label.pairs };
      const template = (object.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
      if (label.includeTemplates && template) {
        template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...label.pairs } };
      }
    }
  }

  if (typeof k.namespace === 'string') {
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace;
  }

  for (const image of (k.images as { name: string; newName?: string; newTag?: string; digest?: string }[] | undefined) ?? []) {
    for (const container of podContainers(objects)) {
      const { name, tag } = splitImage(container.image);
      if (name !== image.name) continue;
      const newName = image.newName ?? name;
      container.image = image.digest
        ? `${newName}@${image.digest}`
        : `${newName}${image.newTag ? `:${image.newTag}` : tag ? `:${tag}` : ''}`;
    }
  }
  return objects;
}

/** The containers (and init containers) of every pod template among the objects. */
export function podContainers(objects: K8sObject[]): { name: string; image: string; [key: string]: unknown }[] {
  return objects.flatMap((object) => {
    const pod = podSpec(object);
    return pod ? [...(pod.initContainers ?? []), ...pod.containers] : [];
  });
}

/** The pod spec of a Deployment, Job (or any object with spec.template.spec). */
export function podSpec(object: K8sObject): { containers: any[]; initContainers?: any[]; [key: string]: any } | undefined {
  return (object.spec as { template?: { spec?: any } } | undefined)?.template?.spec;
}

function splitImage(image: string): { name: string; tag?: string } {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/')
    ? { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) }
    : { name: withoutDigest };
}

/** RFC 6902 on one document (`add`, `replace`, `remove`, `test`), paths as RFC 6901 JSON pointers. */
export function applyJsonPatch(document: unknown, op: JsonPatchOp): void {
  if (!op.path?.startsWith('/')) throw new Error(`JSON patch path must start with "/": ${op.path}`);
  const tokens = op.path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = tokens.pop()!;
  let parent: any = document;
  for (const token of tokens) {
    const next = Array.isArray(parent) ? parent[arrayIndex(parent, token, false)] : parent?.[token];
    if (next === undefined || next === null || typeof next !== 'object')
      throw new Error(`JSON patch ${op.op} ${op.path}: ${token} does not exist`);
    parent = next;
  }
  const exists = Array.isArray(parent) ? last !== '-' && Number(last) < parent.length : Object.prototype.hasOwnProperty.call(parent, last);
  switch (op.op) {
    case 'add':
      if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : arrayIndex(parent, last, true), 0, op.value);
      else parent[last] = op.value;
      return;
    case 'replace':
      if (!exists) throw new Error(`JSON patch replace ${op.path}: nothing to replace`);
      if (Array.isArray(parent)) parent[arrayIndex(parent, last, false)] = op.value;
      else parent[last] = op.value;
      return;
    case 'remove':
      if (!exists) throw new Error(`JSON patch remove ${op.path}: nothing to remove`);
      if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
      else delete parent[last];
      return;
    case 'test': {
      const actual = Array.isArray(parent) ? parent[arrayIndex(parent, last, false)] : parent[last];
      if (JSON.stringify(actual) !== JSON.stringify(op.value)) throw new Error(`JSON patch test ${op.path} failed`);
      return;
    }
    default:
      throw new Error(`JSON patch op ${String((op as { op: unknown }).op)} is not supported`);
  }
}

function arrayIndex(array: unknown[], token: string, forInsert: boolean): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`JSON patch: "${token}" is not an array index`);
  const index = Number(token);
  if (index > array.length || (!forInsert && index === array.length)) throw new Error(`JSON patch: index ${index} out of bounds`);
  return index;
}

/** Every kustomization.yaml under a folder (to find which files are, and are not, listed as resources). */
export function kustomizationDirs(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    if (readdirSync(d).includes('kustomization.yaml')) found.push(d);
    for (const entry of readdirSync(d)) if (statSync(join(d, entry)).isDirectory()) walk(join(d, entry));
  };
  walk(resolve(dir));
  return found;
}
