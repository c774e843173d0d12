import { describe, expect, it } from 'vitest';
import { BrokerError, ConfigError, parseConfig } from '../../src/broker-mini/index.js';
import { CliError } from '../../src/cli/errors.js';
import { ClientError, ConnackError } from '../../src/client/errors.js';
import { decode, isMqttError, MqttError } from '../../src/codec/index.js';

/** The first error `f` throws. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('nothing thrown');
}

describe('one error family', () => {
  it('[MQTT-3.1.0-2] every class is an MqttError with code, rule and cause', () => {
    const cause = new Error('socket closed');
    const errors = [
      new BrokerError('DUPLICATE_CONNECT', 'second CONNECT'),
      new ClientError('CONNECT_FAILED', 'refused', { cause }),
      new ConnackError(5),
      new CliError('IO', 'cannot read', { cause }),
      thrown(() => parseConfig('no_such_directive 1')),
      thrown(() => decode(new Uint8Array([0xf0, 0]))),
    ];
    for (const err of errors) {
      expect(err).toBeInstanceOf(MqttError);
      expect(isMqttError(err)).toBe(true);
      expect(typeof (err as MqttError<string>).code).toBe('string');
    }
    const [broker, client, connack, cli, config, codec] = errors as MqttError<string>[];
    expect([broker!.name, broker!.code, broker!.rule, broker!.action]).toEqual(['BrokerError', 'DUPLICATE_CONNECT', 'MQTT-3.1.0-2', 'close']);
    expect([client!.name, client!.cause]).toEqual(['ClientError', cause]);
    expect([connack!.code, connack!.returnCode]).toEqual(['CONNACK_REFUSED', 5]);
    expect([cli!.name, cli!.cause]).toEqual(['CliError', cause]);
    expect(config).toBeInstanceOf(ConfigError);
    expect(config!.code).toBe('UNKNOWN_DIRECTIVE');
    expect([codec!.name, codec!.code]).toEqual(['MqttError', 'INVALID_PACKET_TYPE']);
  });

  it('isMqttError with a code matches that code in any class, and nothing else', () => {
    const err = new ClientError('QUEUE_FULL', 'full');
    expect(isMqttError(err, 'QUEUE_FULL')).toBe(true);
    expect(isMqttError(err, 'INVALID_TOPIC')).toBe(false);
    expect(isMqttError(new Error('plain'))).toBe(false);
    expect(isMqttError({ code: 'QUEUE_FULL' }, 'QUEUE_FULL')).toBe(false);
  });
});
