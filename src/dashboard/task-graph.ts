import dagre from '@dagrejs/dagre';

/** Status of a graph node: a task status, or UNKNOWN when the task is neither in the history nor stored. */
export type GraphNodeStatus = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CANCELLED' | 'UNKNOWN';

/** What the graph needs to know of one task. */
export interface GraphTask {
  readonly method: string;
  readonly status: GraphNodeStatus;
  readonly deps: readonly string[];
}

/** Where the graph reads tasks from (the history first, then the result store). */
export interface GraphSource {
  task(taskId: string): Promise<GraphTask | undefined>;
  dependents(taskId: string): readonly string[];
}

/** A laid-out node: centre `x`, `y` and size, in SVG user units. */
export interface GraphNode {
  readonly id: string;
  readonly method: string;
  readonly status: GraphNodeStatus;
  /** The task the graph was asked for. */
  readonly focus: boolean;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** An edge from a dependency to its dependent, as a polyline. */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number }>;
}

/** The dependency graph around one task, laid out left (dependencies) to right (dependents). */
export interface TaskGraph {
  readonly root: string;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly width: number;
  readonly height: number;
  /** Nodes were left out (the depth or node limit was reached). */
  readonly truncated: boolean;
}

/** How far the graph reaches. */
export interface GraphLimits {
  /** Hops followed from the task, through dependencies and dependents alike. */
  readonly depth: number;
  /** Most nodes drawn. */
  readonly maxNodes: number;
}

export const DEFAULT_GRAPH_LIMITS: GraphLimits = Object.freeze({ depth: 6, maxNodes: 80 });

/** Characters of an id shown in a node, shortened in the middle (the full id is in the node's title and detail link). */
const LABEL_CHARS = 28;
const CHAR_WIDTH = 7.2;

/**
 * Collects the tasks within `depth` hops of `root` (breadth first over dependencies and dependents, at most
 * `maxNodes`) and lays them out with dagre (layered, crossing-reduced). Undefined when `root` is unknown.
 */
export async function buildTaskGraph(root: string, source: GraphSource, limits: GraphLimits = DEFAULT_GRAPH_LIMITS): Promise<TaskGraph | undefined> {
  const rootTask = await source.task(root);
  if (!rootTask) return undefined;
  const tasks = new Map<string, GraphTask>([[root, rootTask]]);
  const edges = new Set<string>();
  const edgeList: Array<{ from: string; to: string }> = [];
  const addEdge = (from: string, to: string) => {
    const key = `${from}\u0000${to}`;
    if (edges.has(key)) return;
    edges.add(key);
    edgeList.push({ from, to });
  };
  let truncated = false;
  // Both directions at each hop, so the whole of a small DAG shows (a failed node's siblings too).
  let frontier = [root];
  for (let hop = 0; frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const id of frontier) {
      const task = tasks.get(id)!;
      const neighbours: Array<[string, 'dep' | 'dependent']> = [
        ...task.deps.map((dep): [string, 'dep'] => [dep, 'dep']),
        ...source.dependents(id).map((dependent): [string, 'dependent'] => [dependent, 'dependent']),
      ];
      for (const [other, role] of neighbours) {
        if (!tasks.has(other)) {
          if (hop >= limits.depth || tasks.size >= limits.maxNodes) {
            truncated = true;
            continue;
          }
          tasks.set(other, (await source.task(other)) ?? { method: '', status: 'UNKNOWN', deps: [] });
          next.push(other);
        }
        if (role === 'dep') addEdge(other, id);
        else addEdge(id, other);
      }
    }
    frontier = next;
  }
  // Edges between collected nodes that the walk did not follow (e.g. a diamond's two paths).
  for (const [id, task] of tasks) for (const dep of task.deps) if (tasks.has(dep)) addEdge(dep, id);
  return layout(root, tasks, edgeList, truncated);
}

function layout(root: string, tasks: ReadonlyMap<string, GraphTask>, edges: ReadonlyArray<{ from: string; to: string }>, truncated: boolean): TaskGraph {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 50, marginx: 10, marginy: 10 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const [id, task] of tasks) {
    // Two lines: the id (LABEL_CHARS at most, shortened in the middle) and "method · status".
    const chars = Math.max(Math.min(id.length, LABEL_CHARS + 1), (task.method || '?').length + 3 + task.status.length, 8);
    graph.setNode(id, { width: Math.round(chars * CHAR_WIDTH + 24), height: 44 });
  }
  for (const edge of edges) graph.setEdge(edge.from, edge.to);
  dagre.layout(graph);
  const nodes: GraphNode[] = [...tasks].map(([id, task]) => {
    const placed = graph.node(id);
    return { id, method: task.method, status: task.status, focus: id === root, x: placed.x, y: placed.y, width: placed.width, height: placed.height };
  });
  const laidEdges: GraphEdge[] = edges.map((edge) => ({
    from: edge.from,
    to: edge.to,
    points: (graph.edge(edge.from, edge.to).points ?? []).map((point: { x: number; y: number }) => ({ x: point.x, y: point.y })),
  }));
  const size = graph.graph();
  return { root, nodes, edges: laidEdges, width: size.width ?? 0, height: size.height ?? 0, truncated };
}
