/**
 * One row of the report card: a broker-side normative statement, in short, and either the
 * check that tests it from the wire or why it cannot be.
 */
import type { CheckContext } from './context.js';

/** A row of the suite. */
export interface Check {
  /** Normative statement id without brackets, e.g. `'MQTT-3.3.5-1'`. */
  rule: string;
  /** The statement in short. */
  text: string;
  /**
   * Tests the rule: resolves (optionally with evidence) when the broker follows it, throws a
   * `CheckFailure` with the bytes that show it when it does not. Absent when not testable.
   */
  run?: ((ctx: CheckContext) => Promise<string | void>) | undefined;
  /** Why the rule cannot be tested from the wire (when `run` is absent). */
  why?: string;
}

/** The outcome of one row. */
export interface CheckResult {
  rule: string;
  text: string;
  status: 'PASS' | 'FAIL' | 'NOT TESTABLE';
  /** For FAIL the bytes that show it; for PASS what was seen; for NOT TESTABLE why. */
  detail: string;
}
