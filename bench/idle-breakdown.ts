/**
 * What one idle connection is made of, object by object, in a Node server: heap snapshots taken
 * (after a full GC) before and after N idle connections open, and the difference grouped by
 * object kind and divided by N. Not a test; run it by hand:
 *
 *   npx tsx bench/idle-breakdown.ts --target mini --count 2000
 *   npx tsx bench/idle-breakdown.ts --target node-net --count 2000 --top 30
 *   npx tsx bench/idle-breakdown.ts --target mini --by-holder    # "array ← object SessionState.#inflight"
 *
 * Only the V8 heap is in a snapshot: the native side of a socket (libuv's handle, Node's
 * TCPWrap, malloc overhead) shows in bench/idle-memory.ts as "outside the heap".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEntries, builtPath } from './e2e/build.js';
import { runConnections } from './e2e/connections.js';
import { stopAll, useCompiled } from './e2e/procs.js';
import { DEFAULT_SETTINGS } from './e2e/scenarios.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'mini' },
    count: { type: 'string', default: '2000' },
    top: { type: 'string', default: '25' },
    // Names each object by what holds it too ("array ← object SessionState.#inflight").
    'by-holder': { type: 'boolean', default: false },
  },
});
const target = values.target as 'mini' | 'aedes' | 'node-net';
if (!['mini', 'aedes', 'node-net'].includes(target)) throw new Error('--target: mini, aedes or node-net');
const count = Number(values.count);
if (!Number.isInteger(count) || count <= 0 || count > 15_000) throw new Error('--count: an integer in 1..15000');
const top = Number(values.top);
const byHolder = values['by-holder'];

/** Self size and number of objects for each kind ("object Socket", "closure onData", …). */
type Census = Map<string, { bytes: number; count: number }>;

/** Groups a .heapsnapshot's nodes by type and name (constructor, function or string kind), and with `byHolder` by what holds them. */
function census(path: string): Census {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const meta = snap.snapshot.meta;
  // The snapshot's flat arrays, read with a default: an index past the end is a malformed file.
  const node = (i: number): number => snap.nodes[i] ?? 0;
  const edge = (i: number): number => snap.edges[i] ?? 0;
  const text = (i: number): string => snap.strings[i] ?? '?';
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const [T, N, S, E] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size'), fields.indexOf('edge_count')];
  const kind = (i: number): string => {
    const type = types[node(i + T)] ?? '?';
    // Strings and numbers are grouped by kind only: their "name" is their content.
    const plain = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number';
    return `${type} ${plain ? '' : text(node(i + N)).slice(0, 60)}`.trim();
  };
  // The first object (by snapshot order) that refers to each node, through a property or element.
  const holder = new Map<number, string>();
  if (byHolder) {
    const ew = meta.edge_fields.length;
    const [ET, EN, ETO] = [meta.edge_fields.indexOf('type'), meta.edge_fields.indexOf('name_or_index'), meta.edge_fields.indexOf('to_node')];
    const edgeTypes = meta.edge_types[0];
    let e = 0;
    for (let i = 0; i < snap.nodes.length; i += width) {
      const from = kind(i);
      for (let k = 0; k < node(i + E); k++, e += ew) {
        const et = edgeTypes[edge(e + ET)];
        if (et === 'weak' || et === 'shortcut') continue;
        const to = edge(e + ETO);
        if (holder.has(to)) continue;
        const name = et === 'element' || et === 'hidden' ? `[${edge(e + EN)}]` : `.${text(edge(e + EN))}`;
        holder.set(to, `${from}${et === 'internal' && from.startsWith('object') ? '' : name}`);
      }
    }
  }
  const out: Census = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const key = byHolder ? `${kind(i)} ← ${holder.get(i) ?? '(root)'}` : kind(i);
    const c = out.get(key) ?? { bytes: 0, count: 0 };
    c.bytes += node(i + S);
    c.count++;
    out.set(key, c);
  }
  return out;
}

async function main(): Promise<void> {
  await buildEntries();
  useCompiled(builtPath);
  const dir = mkdtempSync(join(tmpdir(), 'mqtt311-idle-breakdown-'));
  try {
    const r = await runConnections(
      { kind: 'connections', id: `idle-${count}`, title: `${count} idle connections`, processes: 1, batch: 40 },
      target,
      1,
      { ...DEFAULT_SETTINGS, connections: count },
      (broker, phase) => broker.snapshot?.(join(dir, `${phase}.heapsnapshot`)) ?? Promise.resolve(),
    );
    const n = r.connected;
    const before = census(join(dir, 'before.heapsnapshot'));
    const after = census(join(dir, 'after.heapsnapshot'));
    const rows = [...after].map(([key, a]) => {
      const b = before.get(key) ?? { bytes: 0, count: 0 };
      return { key, bytes: (a.bytes - b.bytes) / n, count: (a.count - b.count) / n };
    });
    rows.sort((x, y) => y.bytes - x.bytes);
    const total = rows.reduce((s, x) => s + x.bytes, 0);
    const lines = [
      `${target}, ${n} idle connections: ${total.toFixed(0)} B of heap objects per connection`,
      '| bytes / conn | objects / conn | kind |',
      '| ---: | ---: | --- |',
    ];
    for (const x of rows.slice(0, top)) lines.push(`| ${x.bytes.toFixed(0)} | ${x.count.toFixed(2)} | ${x.key} |`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main()
  .catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
