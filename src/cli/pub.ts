import type { CliIo } from './io.js';
export async function runPub(_argv: string[], _io: CliIo): Promise<number> { return 1; }
