/**
 * A self-contained HTML page of traced connections: per connection a sequence diagram (client
 * and broker lifelines, one arrow per packet, coloured by type, violations in red with their rule
 * id). Clicking an arrow shows the packet's annotated bytes (the codec's inspector). No external
 * resource: the page is one file with inline SVG, CSS and a few lines of script.
 */
import { formatInspection, inspect } from '../codec/index.js';
import { clock, formatViolation, hex, summary } from './format.js';
import type { TraceRecord } from './tracker.js';

/** One record of one connection, and the fault applied to it by the proxy, if any. */
export interface TraceEntry {
  record: TraceRecord;
  connection: number;
  fault?: string | undefined;
}

/** Colour per packet type, so a flow can be read at a glance. */
const COLOURS: Record<string, string> = {
  connect: '#1f77b4', connack: '#1f77b4', disconnect: '#1f77b4',
  publish: '#2ca02c', puback: '#17becf', pubrec: '#9467bd', pubrel: '#9467bd', pubcomp: '#9467bd',
  subscribe: '#ff7f0e', suback: '#ff7f0e', unsubscribe: '#8c564b', unsuback: '#8c564b',
  pingreq: '#7f7f7f', pingresp: '#7f7f7f', malformed: '#d62728', event: '#7f7f7f',
};
const RED = '#d62728';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const LEFT = 150;
const RIGHT = 650;
const ROW = 34;
const TOP = 60;

/** The page for `entries` (any number of connections, in the order seen). */
export function writeTraceHtml(entries: readonly TraceEntry[], title: string): string {
  const byConnection = new Map<number, TraceEntry[]>();
  for (const e of entries) {
    const list = byConnection.get(e.connection);
    if (list) list.push(e);
    else byConnection.set(e.connection, [e]);
  }
  const details: string[] = [];
  const sections = [...byConnection].map(([n, list]) => diagram(n, list, details));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1em 2em;color:#222}
svg text{font:12px ui-monospace,monospace}
.arrow{cursor:pointer}.arrow:hover text{font-weight:bold}
pre{background:#f6f6f6;padding:.6em;overflow:auto}
.violation{color:${RED}}
#detail{position:sticky;bottom:0;background:#fff;border-top:1px solid #ccc;max-height:45vh;overflow:auto}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${entries.filter((e) => e.record.kind !== 'event').length} packets on ${byConnection.size} connection(s); click an arrow for its bytes.</p>
${sections.join('\n')}
<div id="detail"><p>No packet selected.</p></div>
${details.join('\n')}
<script>
document.querySelectorAll('.arrow').forEach(function(a){a.addEventListener('click',function(){
  var t=document.getElementById('d'+a.dataset.i);document.getElementById('detail').innerHTML=t.innerHTML;});});
</script>
</body></html>
`;
}

function diagram(n: number, list: TraceEntry[], details: string[]): string {
  const height = TOP + list.length * ROW + 20;
  const parts: string[] = [
    `<svg class="sequence" data-connection="${n}" width="${RIGHT + 360}" height="${height}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="${LEFT}" y="20" text-anchor="middle" font-weight="bold">client</text>`,
    `<text x="${RIGHT}" y="20" text-anchor="middle" font-weight="bold">broker</text>`,
    `<line x1="${LEFT}" y1="30" x2="${LEFT}" y2="${height}" stroke="#999" stroke-dasharray="4"/>`,
    `<line x1="${RIGHT}" y1="30" x2="${RIGHT}" y2="${height}" stroke="#999" stroke-dasharray="4"/>`,
  ];
  list.forEach((e, row) => {
    const r = e.record;
    const y = TOP + row * ROW;
    const i = details.length;
    details.push(detail(i, e));
    const bad = r.violations.some((v) => v.severity === 'violation');
    const type = r.packet?.cmd ?? r.kind;
    const colour = bad ? RED : COLOURS[type] ?? '#333';
    const label = esc(summary(r)) + (e.fault ? ` [${esc(e.fault)}]` : '');
    const rules = r.violations.map((v) => v.rule).join(' ');
    parts.push(`<text x="8" y="${y + 4}" fill="#777">${clock(r.time)}</text>`);
    if (r.kind === 'event') {
      parts.push(`<g class="event" data-i="${i}"><text x="${(LEFT + RIGHT) / 2}" y="${y + 4}" text-anchor="middle" fill="${colour}" font-style="italic">${label}</text></g>`);
    } else {
      const [x1, x2] = r.dir === 'c2s' ? [LEFT, RIGHT] : [RIGHT, LEFT];
      const head = r.dir === 'c2s' ? `${x2 - 8},${y - 5} ${x2},${y} ${x2 - 8},${y + 5}` : `${x2 + 8},${y - 5} ${x2},${y} ${x2 + 8},${y + 5}`;
      parts.push(
        `<g class="arrow" data-i="${i}" data-type="${type}"${rules ? ` data-rules="${esc(rules)}"` : ''}>` +
          `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="${colour}" stroke-width="2"${e.fault ? ' stroke-dasharray="6 3"' : ''}/>` +
          `<polygon points="${head}" fill="${colour}"/>` +
          `<rect x="${LEFT}" y="${y - 16}" width="${RIGHT - LEFT}" height="${ROW - 4}" fill="transparent"/>` +
          `<text x="${(LEFT + RIGHT) / 2}" y="${y - 5}" text-anchor="middle" fill="${colour}">${label}</text></g>`,
      );
    }
    if (rules) parts.push(`<text x="${RIGHT + 12}" y="${y + 4}" fill="${RED}" class="violation">${esc(r.violations.map((v) => `[${v.rule}]`).join(' '))}</text>`);
  });
  parts.push('</svg>');
  return `<h2>Connection #${n}</h2>\n${parts.join('\n')}`;
}

function detail(i: number, e: TraceEntry): string {
  const r = e.record;
  let body: string;
  if (r.kind === 'packet') body = `<pre>${esc(formatInspection(inspect(r.bytes)))}</pre>`;
  else if (r.kind === 'malformed') body = `<pre>${esc(`${r.error?.code ?? ''} ${r.error?.message ?? ''}\n${hex(r.bytes.subarray(0, 256))}`)}</pre>`;
  else body = `<p>${esc(r.text ?? '')}</p>`;
  const v = r.violations.map((x) => `<p class="violation">${esc(formatViolation(x))}</p>`).join('');
  return `<template id="d${i}"><h3>${esc(`#${e.connection} ${r.dir === 'c2s' ? 'client → broker' : 'broker → client'} ${clock(r.time)}: ${summary(r)}`)}</h3>${v}${body}</template>`;
}
