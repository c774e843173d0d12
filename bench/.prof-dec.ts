import { Decoder, encode, type Packet } from '/work/main/src/codec/index.js';
const p: Packet = { cmd: 'publish', topic: 'sensors/room1/temperature', payload: Buffer.alloc(16, 97), qos: 0, retain: false, dup: false };
const stream = Buffer.concat(Array.from({ length: 10000 }, () => encode(p)));
let n = 0;
const t = performance.now();
for (let r = 0; r < 400; r++) { const d = new Decoder(); d.push(stream); while (d.next() !== undefined) n++; }
const dt = performance.now() - t;
console.log((dt / n * 1e6).toFixed(1), 'ns/packet');
