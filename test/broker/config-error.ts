/** The `ConfigError` that `f` throws (fails the test if it throws nothing or something else). */
import { ConfigError } from '../../src/broker-mini/config.js';

export function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}
