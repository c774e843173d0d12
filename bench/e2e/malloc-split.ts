/**
 * Where a process's resident memory sits, from /proc/<pid>/smaps (Linux): glibc's main malloc
 * arena (the `[heap]` mapping, grown with brk), its per-thread arenas, and the rest (V8's heap
 * pages, code, stacks, the mapped binary). A thread arena is a 64 MiB reservation (glibc's
 * HEAP_MAX_SIZE on 64-bit) aligned to 64 MiB, of which the used part is read-write and the
 * remainder `---p`: that shape tells it apart from V8's pages and other anonymous mappings.
 */
import { readFileSync } from 'node:fs';

/** Resident bytes by kind of mapping. */
export interface MallocSplit {
  mainArena: number;
  threadArenas: number;
  rest: number;
}

const ARENA_SIZE = 64 * 2 ** 20;

interface Mapping {
  start: number;
  end: number;
  perms: string;
  anonymous: boolean;
  name: string;
  rss: number;
}

function mappings(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    // A mapping's header: "start-end perms offset dev inode [name]"; then "Key: value" lines.
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const [, start = '0', end = '0', perms = '', inode = '0', name = ''] = header;
      out.push({ start: Number.parseInt(start, 16), end: Number.parseInt(end, 16), perms, anonymous: inode === '0' && name === '', name, rss: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    const last = out[out.length - 1];
    if (rss && last) last.rss = Number(rss[1]) * 1024;
  }
  return out;
}

/** Reads `/proc/<pid>/smaps` once; undefined where it cannot be read. */
export function mallocSplit(pid: number): MallocSplit | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const split: MallocSplit = { mainArena: 0, threadArenas: 0, rest: 0 };
  const maps = mappings(text);
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    const arena =
      m.anonymous &&
      m.start % ARENA_SIZE === 0 &&
      (m.end - m.start === ARENA_SIZE || (next !== undefined && next.anonymous && next.perms === '---p' && next.start === m.end && next.end === m.start + ARENA_SIZE));
    if (m.name === '[heap]') split.mainArena += m.rss;
    else if (arena) split.threadArenas += m.rss;
    else split.rest += m.rss;
  });
  return split;
}
