/**
 * Validates rendered objects twice:
 * 1. against the Kubernetes OpenAPI schemas compiled into `kubernetes-models` (types, required fields, formats —
 *    e.g. a string where an int32 port belongs);
 * 2. for unknown fields, which those schemas allow: the objects are type-checked by the TypeScript compiler as
 *    object literals of the package's interfaces (IDeployment, …), whose excess-property check rejects a
 *    misspelt key at any depth (`livenesProbe`, `secretKeyref`) — what `kubectl apply` with server-side field
 *    validation would reject.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { K8sObject } from './kustomize.js';

interface Kind {
  model: new (data: any) => { validate(): void };
  /** module and interface for the excess-property check */
  module: string;
  iface: string;
}

const KINDS: Record<string, Kind> = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', iface: 'IConfigMap' },
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1/Namespace', iface: 'INamespace' },
  'v1/Secret': { model: Secret, module: 'kubernetes-models/v1/Secret', iface: 'ISecret' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', iface: 'IService' },
  'v1/ServiceAccount': { model: ServiceAccount, module: 'kubernetes-models/v1/ServiceAccount', iface: 'IServiceAccount' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', iface: 'IDeployment' },
  'batch/v1/Job': { model: Job, module: 'kubernetes-models/batch/v1/Job', iface: 'IJob' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    iface: 'IHorizontalPodAutoscaler',
  },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    iface: 'IPodDisruptionBudget',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    iface: 'IPrometheusRule',
  },
};

const label = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;

/** Schema errors per object ("Kind/name: message"); empty when every object is valid. Unknown kinds are errors. */
export function schemaErrors(objects: K8sObject[]): string[] {
  return objects.flatMap((object) => {
    const kind = KINDS[`${object.apiVersion}/${object.kind}`];
    if (!kind) return [`${label(object)}: ${object.apiVersion} ${object.kind} is not a kind this suite validates`];
    try {
      new kind.model(object).validate();
      return [];
    } catch (error) {
      return [`${label(object)}: ${(error as Error).message}`];
    }
  });
}

/**
 * Unknown or mistyped fields, found by the TypeScript compiler (one in-memory program for all objects).
 * Returns "Kind/name: message" per diagnostic.
 */
export function unknownFieldErrors(objects: K8sObject[]): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = join(here, '__manifests_typecheck__.ts');
  const imports = new Map<string, string>();
  const lines: string[] = [];
  objects.forEach((object, i) => {
    const kind = KINDS[`${object.apiVersion}/${object.kind}`];
    if (!kind) return;
    imports.set(kind.module, `import type { ${kind.iface} } from '${kind.module}';`);
    lines.push(`// ${label(object)}\nexport const object${i}: ${kind.iface} = ${JSON.stringify(object, null, 1)};`);
  });
  const source = [...imports.values(), ...lines].join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === file ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  const sourceFile = program.getSourceFile(file)!;
  const diagnostics = [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
  return diagnostics.map((d) => {
    const position = d.start !== undefined ? sourceFile.getLineAndCharacterOfPosition(d.start).line : 0;
    const header = source
      .split('\n')
      .slice(0, position + 1)
      .reverse()
      .find((line) => line.startsWith('// '));
    return `${header?.slice(3) ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}
