/** Folder-level dependency cycles: `src/jobs/a.ts → src/webhooks/b.ts → src/jobs/c.ts` is one, though no file cycle exists. */

export interface ModuleEdge {
  from: string;
  to: string;
}

/** The module (folder directly under src/) a path belongs to; files directly in src/ (main.ts, app.module.ts) belong to none. */
export function moduleOf(path: string): string | undefined {
  return /^src\/([^/]+)\//.exec(path)?.[1];
}

/**
 * Strongly connected components of more than one module (Tarjan), each sorted, for a graph of file-level edges.
 * A component is a set of modules that all reach each other, i.e. at least one cycle.
 */
export function moduleCycles(fileEdges: ModuleEdge[]): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of fileEdges) {
    const a = moduleOf(from);
    const b = moduleOf(to);
    if (!a || !b || a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    graph.get(a)!.add(b);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (;;) {
        const member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.sort((x, y) => x[0].localeCompare(y[0]));
}

/** The file-level edges that make up a component's cycles (for a failure message a reader can act on). */
export function edgesWithin(component: string[], fileEdges: ModuleEdge[]): ModuleEdge[] {
  const members = new Set(component);
  return fileEdges.filter(({ from, to }) => {
    const a = moduleOf(from);
    const b = moduleOf(to);
    return a !== undefined && b !== undefined && a !== b && members.has(a) && members.has(b);
  });
}
