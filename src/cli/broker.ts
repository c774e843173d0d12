import type { CliIo } from './io.js';
export async function runBroker(_argv: string[], _io: CliIo): Promise<number> { return 1; }
