/**
 * The benchmark report as markdown (printed, and pasted into docs/BENCHMARKS.md): ratios and
 * targets first, then the broker table, the client table and the machine note.
 */
import type { Settings } from './scenarios.js';
import {
  fmt,
  fmtBytes,
  fmtCount,
  table,
  type BrokerSummary,
  type ClientSummary,
  type MachineNote,
  type Ratio,
} from './report.js';

/** A target and whether it was met (`undefined`: the run cannot tell). */
export interface TargetCheck {
  target: string;
  value: string;
  met: boolean | undefined;
  /**
   * `'measured'`: decided by the measured numbers; `'estimated'`: a throughput target decided by
   * CPU time per delivery because deliveries/s were only bounds (see `renderMarkdown`).
   */
  basis: 'measured' | 'estimated';
}

const THROUGHPUT_TARGET = 1.5;
const P99_TARGET_US = 5000;
const CONN_TARGET_BYTES = 3 * 1024;
/** Per-message scenarios: broker-mini's CPU per delivery ≤ 2/3 of the better rival's (issue 15). */
const CPU_TARGET = 2 / 3;
const CLIENT_CPU_TARGET = 1 / 3;

function ratioText(r: Ratio | undefined): string {
  if (!r || !Number.isFinite(r.throughput)) return '–';
  const sign = r.bound === 'at least' ? '≥ ' : r.bound === 'at most' ? '≤ ' : r.bound === 'unknown' ? '~ ' : '';
  return `${sign}${r.throughput.toFixed(2)}× (CPU/delivery ${r.efficiency.toFixed(2)}×)`;
}

/** Checks the published targets against the summaries. */
export function targetChecks(brokers: BrokerSummary[], rs: Ratio[], clients: ClientSummary[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const scenarios = [...new Set(rs.map((r) => r.scenario))];
  for (const sc of scenarios) {
    const mine = rs.filter((r) => r.scenario === sc);
    // A ratio that is only a bound decides the target in one direction: "≥ 2×" proves it met,
    // "≤ 1.2×" proves it missed; "≤ 2×" or "≥ 1.2×" decide nothing.
    const meets = (r: Ratio): boolean | undefined =>
      r.throughput >= THROUGHPUT_TARGET
        ? r.bound === 'exact' || r.bound === 'at least' || undefined
        : r.bound === 'exact' || r.bound === 'at most'
          ? false
          : undefined;
    const verdicts = mine.map(meets);
    let met = verdicts.includes(false) ? false : verdicts.every((v) => v === true) ? true : undefined;
    let basis: TargetCheck['basis'] = 'measured';
    if (met === undefined && mine.every((r) => Number.isFinite(r.efficiency))) {
      // Starved runs: a single-threaded broker's capacity is 1 s ÷ its CPU time per delivery.
      met = mine.every((r) => r.efficiency >= THROUGHPUT_TARGET);
      basis = 'estimated';
    }
    out.push({
      target: `${sc}: broker-mini ≥ ${THROUGHPUT_TARGET}× mosquitto and aedes`,
      value: mine.map((r) => `${r.versus} ${ratioText(r)}`).join(', '),
      met,
      basis,
    });
    // `efficiency` is the rival's CPU per delivery ÷ broker-mini's: the better rival has the smallest.
    const best = Math.min(...mine.map((r) => r.efficiency));
    if (!sc.endsWith('-batched') && Number.isFinite(best)) {
      out.push({
        target: `${sc}: broker-mini CPU/delivery ≤ 2/3 of the better of mosquitto and aedes`,
        value: `${(1 / best).toFixed(2)} of the better`,
        met: 1 / best <= CPU_TARGET,
        basis: 'measured',
      });
    }
  }
  const lat = brokers.find((b) => b.broker === 'mini' && b.p99Us !== undefined);
  if (lat) {
    out.push({
      target: `QoS 1 latency p99 < ${P99_TARGET_US / 1000} ms`,
      value: `${fmt(lat.p99Us, 0)} µs`,
      met: lat.p99Us! < P99_TARGET_US,
      basis: 'measured',
    });
  }
  const conn = brokers.find((b) => b.broker === 'mini' && b.bytesPerConnection !== undefined);
  if (conn) {
    out.push({
      target: `≤ ${CONN_TARGET_BYTES / 1024} KiB per idle connection`,
      value: fmtBytes(conn.bytesPerConnection!),
      met: conn.bytesPerConnection! <= CONN_TARGET_BYTES,
      basis: 'measured',
    });
  }
  for (const sc of [...new Set(clients.map((c) => c.scenario))]) {
    const ours = clients.find((c) => c.scenario === sc && c.client === 'mqtt311');
    const theirs = clients.find((c) => c.scenario === sc && c.client === 'mqttjs');
    if (!ours || !theirs) continue;
    const r = ours.cpuPerMsgUs / theirs.cpuPerMsgUs;
    out.push({
      target: `${sc}: client CPU/message ≤ 1/3 of MQTT.js`,
      value: `${r.toFixed(2)}× (${fmt(ours.cpuPerMsgUs, 2)} vs ${fmt(theirs.cpuPerMsgUs, 2)} µs)`,
      met: r <= CLIENT_CPU_TARGET,
      basis: 'measured',
    });
  }
  return out;
}

function lostDup(s: { lost: number; duplicates: number; misrouted?: number; unexpected?: number; unacknowledged?: number }): string {
  const extra = (s.misrouted ?? 0) + (s.unexpected ?? 0) + (s.unacknowledged ?? 0);
  return `${s.lost} / ${s.duplicates}${extra > 0 ? ` (+${extra} other)` : ''}`;
}

function brokerRow(b: BrokerSummary): string[] {
  const isConn = b.bytesPerConnection !== undefined;
  // The latency probe runs at a fixed rate: what limits the machine says nothing about it.
  const rate = isConn
    ? `${fmtCount(b.connectsPerSec!)} conn/s`
    : b.loadBound && b.p50Us === undefined
      ? `${b.limit === 'contended' ? 'CPU-contended' : 'load-bound'} (> ${fmtCount(b.deliveriesPerSec)})`
      : fmtCount(b.deliveriesPerSec);
  const latency = b.p50Us !== undefined ? `${fmt(b.p50Us, 0)} / ${fmt(b.p99Us, 0)}` : '–';
  const memory = isConn ? `${fmtBytes(b.bytesPerConnection!)}/conn (${fmtCount(b.connected!)} conns)` : `${fmtBytes(b.peakRssBytes)} peak`;
  const cores = isConn ? '–' : `${fmt(b.brokerCores, 2)} / ${fmt(b.loadCores, 2)}${b.otherCores > 0.2 ? ` (+${fmt(b.otherCores, 2)} other)` : ''}`;
  const errors = b.errors.length > 0 ? ` ⚠ ${b.errors.length}` : '';
  const capacity = isConn || b.p50Us !== undefined ? '–' : fmtCount(1e6 / b.brokerCpuPerDeliveryUs);
  return [b.scenario, b.broker + errors, rate, latency, fmt(b.brokerCpuPerDeliveryUs, 2), fmt(b.sleepsPerDelivery, 2), capacity, cores, memory, lostDup(b)];
}

/** broker-mini, mosquitto, aedes CPU per delivery in `sc`, and mini's share of the better rival's. */
function cpuCells(brokers: BrokerSummary[], sc: string): string[] {
  const cpu = (b: string): number | undefined => brokers.find((x) => x.scenario === sc && x.broker === b)?.brokerCpuPerDeliveryUs;
  const [mini, mosq, aedes] = ['mini', 'mosquitto', 'aedes'].map(cpu);
  const rivals = [mosq, aedes].filter((v): v is number => v !== undefined);
  const share = mini !== undefined && rivals.length > 0 ? `${(mini / Math.min(...rivals)).toFixed(2)}` : '–';
  return [fmt(mini, 2), fmt(mosq, 2), fmt(aedes, 2), share];
}

/**
 * Broker CPU per delivery side by side, one packet per write (the headline) next to 64 per write
 * (`<id>-batched`), with broker-mini's share of the better rival's.
 */
function writeModeTable(brokers: BrokerSummary[]): string | undefined {
  const ids = [...new Set(brokers.map((b) => b.scenario))].filter((sc) => brokers.some((b) => b.scenario === `${sc}-batched`));
  if (ids.length === 0) return undefined;
  const head = ['scenario', 'mini', 'mosquitto', 'aedes', 'mini ÷ better', 'mini (batched)', 'mosquitto (batched)', 'aedes (batched)', 'mini ÷ better (batched)'];
  return table(head, ids.map((sc) => [sc, ...cpuCells(brokers, sc), ...cpuCells(brokers, `${sc}-batched`)]), 1);
}

/**
 * The Node floor's CPU per delivery in `sc` (node-floor.ts, not a broker), and its share of the
 * better rival's: the lowest "mini ÷ better" any broker running on Node could reach there.
 */
function floorCells(brokers: BrokerSummary[], sc: string): string[] {
  const cpu = (b: string): number | undefined => brokers.find((x) => x.scenario === sc && x.broker === b)?.brokerCpuPerDeliveryUs;
  const floor = cpu('node-floor');
  const rivals = [cpu('mosquitto'), cpu('aedes')].filter((v): v is number => v !== undefined);
  return [fmt(floor, 2), floor !== undefined && rivals.length > 0 ? (floor / Math.min(...rivals)).toFixed(2) : '–'];
}

/** Broker CPU per delivery under MQTT.js load (`<id>-mqttjs`), with the Node floor when it ran. */
function mqttjsTable(brokers: BrokerSummary[]): string | undefined {
  const ids = [...new Set(brokers.map((b) => b.scenario))].filter((sc) => sc.endsWith('-mqttjs'));
  if (ids.length === 0) return undefined;
  const head = ['scenario', 'mini', 'mosquitto', 'aedes', 'mini ÷ better'];
  if (!brokers.some((b) => b.broker === 'node-floor')) return table(head, ids.map((sc) => [sc, ...cpuCells(brokers, sc)]), 1);
  return table([...head, 'node floor', 'floor ÷ better'], ids.map((sc) => [sc, ...cpuCells(brokers, sc), ...floorCells(brokers, sc)]), 1);
}

/** System calls per delivery (`--syscalls`): the total, the event loop's sleeps, and the calls made. */
function syscallTable(brokers: BrokerSummary[]): string | undefined {
  const traced = brokers.filter((b) => b.syscalls !== undefined);
  if (traced.length === 0) return undefined;
  const rows = traced.map((b) => {
    const s = b.syscalls!; // filtered above
    const calls = Object.entries(s.calls)
      .filter(([, n]) => n >= 0.01)
      .map(([name, n]) => `${name} ${n.toFixed(2)}`)
      .join(', ');
    return [b.scenario, b.broker, fmt(s.total, 2), fmt(s.errors, 2), calls];
  });
  return table(['scenario', 'broker', 'system calls', 'of them failed', 'calls (≥ 0.01 per delivery)'], rows);
}

/** The whole report. */
export function renderMarkdown(
  machine: MachineNote,
  settings: Settings,
  brokers: BrokerSummary[],
  rs: Ratio[],
  clients: ClientSummary[],
  targets: TargetCheck[],
  date: string,
): string {
  const parts: string[] = [];
  const modes = writeModeTable(brokers);
  if (modes) {
    parts.push('### Broker CPU µs per delivery: one packet per write (headline) | 64 packets per write (batched)\n');
    parts.push(modes);
    parts.push('\n"mini ÷ better": broker-mini\'s CPU per delivery ÷ that of the better of mosquitto and aedes (< 1: broker-mini needs less).\n');
  }
  const mqttjs = mqttjsTable(brokers);
  if (mqttjs) {
    parts.push('### Broker CPU µs per delivery: MQTT.js clients as publishers and subscribers\n');
    parts.push(mqttjs);
    parts.push(
      '\nMQTT.js 5 with its defaults (Nagle on, keep-alive 60 s): QoS 0 publishers send one message per event-loop turn, ' +
        'QoS 1/2 publishers keep 64 in flight and publish the next from each completion callback' +
        (settings.mqttjsRate > 0 ? `; all paced to ${settings.mqttjsRate} publishes/s in all.` : '; unpaced.') +
        (brokers.some((b) => b.broker === 'node-floor')
          ? ' "node floor" is no broker: a bare Node `net` server that forwards PUBLISH bytes and sends the acknowledgements (bench/e2e/node-floor.ts), ' +
            'what Node.js itself costs per delivery; "floor ÷ better" is the lowest "mini ÷ better" a Node broker could reach.\n'
          : '\n'),
    );
  }
  const syscalls = syscallTable(brokers);
  if (syscalls) {
    parts.push('### System calls per delivery (strace -c over the window, every thread)\n');
    parts.push(syscalls);
    parts.push('\nstrace stops a broker at every system call: the CPU and sleep numbers of this run are inflated and not comparable with other runs.\n');
  }
  const scenarios = [...new Set(rs.map((r) => r.scenario))];
  if (scenarios.length > 0) {
    parts.push('### broker-mini ÷ other broker, deliveries/s (> 1: broker-mini delivers more)\n');
    const rows = scenarios.map((sc) => [
      sc,
      ratioText(rs.find((r) => r.scenario === sc && r.versus === 'mosquitto')),
      ratioText(rs.find((r) => r.scenario === sc && r.versus === 'aedes')),
    ]);
    parts.push(table(['scenario', 'vs mosquitto', 'vs aedes'], rows, 1));
    parts.push(
      '\n"CPU/delivery" is the other broker\'s CPU time per delivery ÷ broker-mini\'s (> 1: broker-mini needs less). ' +
        '"≥"/"≤": one side was load-bound or CPU-contended, so the ratio is a bound; "~": both were, so it is neither.\n',
    );
  }
  if (targets.length > 0) {
    parts.push('### Targets\n');
    const mark = (t: TargetCheck): string => {
      const word = t.met === true ? 'met' : t.met === false ? '**missed**' : 'undecided';
      return t.basis === 'estimated' ? `${word} (est. from CPU/delivery)` : word;
    };
    parts.push(table(['target', 'measured', 'result'], targets.map((t) => [t.target, t.value, mark(t)]), 1));
    parts.push('');
  }
  if (brokers.length > 0) {
    parts.push('### Brokers (medians)\n');
    const head = ['scenario', 'broker', 'deliveries/s', 'p50 / p99 µs', 'broker CPU µs/delivery', 'sleeps/delivery', 'capacity est. /s', 'CPU cores broker / load', 'memory', 'lost / dup'];
    parts.push(table(head, brokers.map(brokerRow)));
    parts.push(
      '\n"load-bound"/"CPU-contended": the broker had less than 90 % of a core while the load generator, or other programs, ' +
        'filled the machine, so the measured rate (after ">") is only a lower bound. "capacity est." is 1 s ÷ the broker\'s ' +
        'CPU time per delivery: what one fully busy core would deliver. "sleeps/delivery": how often the broker\'s main thread ' +
        'went to sleep (voluntary context switches) per delivery, each followed by a wake-up. ' +
        'For `connections`, "broker CPU µs/delivery" is per accepted connection and "lost" counts refused or dropped connections. ' +
        'Memory is peak RSS of the broker process, or the RSS growth per idle connection. Lost/dup are totals over all repetitions.\n',
    );
  }
  if (clients.length > 0) {
    parts.push('### Clients, publishing to mosquitto (medians)\n');
    const rows = clients.map((c) => [
      c.scenario,
      c.client + (c.errors.length > 0 ? ` ⚠ ${c.errors.length}` : ''),
      fmtCount(c.msgsPerSec),
      fmt(c.cpuPerMsgUs, 2),
      fmt(c.cpuCores, 2),
      `${c.lost} / ${c.duplicates}`,
    ]);
    parts.push(table(['scenario', 'client', 'messages/s', 'client CPU µs/message', 'client CPU cores', 'lost / dup'], rows));
    parts.push('');
  }
  parts.push('### Machine\n');
  parts.push(
    [
      `- ${date}: ${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}`,
      `- mosquitto ${machine.mosquitto}, aedes ${machine.aedes}, MQTT.js ${machine.mqttjs}; open-files limit ${machine.openFiles}; load average at start ${machine.loadAverageAtStart}`,
      `- warm-up ${settings.warmupMs} ms, window ${settings.durationMs} ms, ${settings.reps} repetition(s) interleaved, payload ${settings.payloadSize} B` +
        (settings.mqttjsRate > 0 ? `, MQTT.js load paced at ${settings.mqttjsRate} publishes/s in all` : ''),
    ].join('\n'),
  );
  return parts.join('\n') + '\n';
}
