/**
 * Hand-built CONNECT bytes for the cases the encoder (rightly) refuses to produce:
 * a wrong protocol name or level, reserved flag bits.
 */

/** A CONNECT with the given protocol name, level and flags byte, keepAlive 0, ClientId `id`. */
export function rawConnect(options: { name?: string; level?: number; flags?: number; clientId?: string } = {}): Uint8Array {
  const name = new TextEncoder().encode(options.name ?? 'MQTT');
  const id = new TextEncoder().encode(options.clientId ?? 'raw');
  const body = [
    name.length >> 8, name.length & 0xff, ...name, // protocol name (UTF-8 string)
    options.level ?? 4, // protocol level
    options.flags ?? 0x02, // connect flags: clean session
    0, 0, // keep alive 0
    id.length >> 8, id.length & 0xff, ...id, // ClientId
  ];
  return Uint8Array.from([0x10, body.length, ...body]); // fixed header: CONNECT, remaining length < 128
}
