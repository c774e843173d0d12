/**
 * The client shell's state machine (`lifecycle.ts`): the moves it allows, the ones it refuses,
 * and the reconnect timer that leaving `waiting` cancels. No sockets.
 */
import { describe, expect, it } from 'vitest';
import { ENDED, isStopped, OFFLINE, transition, type ShellState } from '../../src/client/core/lifecycle.js';

const waiting = (fire: () => void): ShellState => ({ name: 'waiting', timer: setTimeout(fire, 20) });

describe('client lifecycle', () => {
  it('allows the moves of the diagram and refuses the others', () => {
    expect(transition(OFFLINE, ENDED)).toBe(ENDED);
    const closing: ShellState = { name: 'closing', link: undefined, handshake: undefined };
    expect(transition(closing, closing)).toBe(closing);
    // Nothing leaves `ended`, and `connected` is reached only from `connecting`.
    expect(() => transition(ENDED, OFFLINE)).toThrow(/from ended to offline/);
    expect(() => transition(closing, OFFLINE)).toThrow(/from closing to offline/);
  });

  it('cancels the reconnect timer when leaving waiting', async () => {
    let fired = false;
    const state = waiting(() => (fired = true));
    transition(state, { name: 'closing', link: undefined, handshake: undefined });
    // Timers of the same delay fire in the order they were set: once this one has fired, the
    // reconnect timer would have too.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).toBe(false);
  });

  it('counts closing and ended as stopped: nothing reconnects from there', () => {
    expect(isStopped(OFFLINE)).toBe(false);
    expect(isStopped({ name: 'closing', link: undefined, handshake: undefined })).toBe(true);
    expect(isStopped(ENDED)).toBe(true);
  });
});
