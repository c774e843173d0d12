import { describe, expect, it } from 'vitest';
import { Acl, checkCredentials, filterCovers, passwordMatches } from '../../src/broker-mini/auth.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('filterCovers', () => {
  it.each([
    ['#', 'a/b', true],
    ['#', '#', true],
    ['a/#', 'a/+/c', true],
    ['a/#', 'a', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/b', 'a/+', false],
    ['a/+', 'a/b/c', false],
    ['+/b', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
  ])('%s covers %s: %s', (outer, inner, want) => {
    expect(filterCovers(outer, inner)).toBe(want);
  });
});

describe('Acl', () => {
  const alice = { clientId: 'c1', username: 'alice' };
  const anon = { clientId: 'c2', username: undefined };

  it('allows everything when no rule is configured', () => {
    const acl = new Acl([]);
    expect(acl.canPublish(anon, 'x')).toBe(true);
    expect(acl.canSubscribe(anon, '#')).toBe(true);
  });

  it('denies what no rule allows, once any rule exists', () => {
    const acl = new Acl([{ topic: 'public/#', access: 'read' }]);
    expect(acl.canSubscribe(anon, 'public/x')).toBe(true);
    expect(acl.canPublish(anon, 'public/x')).toBe(false);
    expect(acl.canSubscribe(anon, 'private')).toBe(false);
    expect(acl.canSubscribe(anon, '#')).toBe(false); // not covered by public/#
  });

  it('applies user rules to that user only, and deny wins', () => {
    const acl = new Acl([
      { user: 'alice', topic: '#', access: 'readwrite' },
      { user: 'alice', topic: 'secret/#', access: 'deny' },
    ]);
    expect(acl.canPublish(alice, 'a/b')).toBe(true);
    expect(acl.canPublish(alice, 'secret/x')).toBe(false);
    expect(acl.canRead(alice, 'secret/x')).toBe(false);
    expect(acl.canSubscribe(alice, 'secret/+')).toBe(false);
    expect(acl.canSubscribe(alice, '#')).toBe(true); // allowed, but secret/… is filtered on delivery
    expect(acl.canPublish(anon, 'a/b')).toBe(false);
  });

  it('substitutes %u and %c, and a rule with %u never applies to an anonymous client', () => {
    const acl = new Acl([
      { topic: 'users/%u/#', access: 'readwrite' },
      { topic: 'clients/%c', access: 'write' },
    ]);
    expect(acl.canPublish(alice, 'users/alice/x')).toBe(true);
    expect(acl.canPublish(alice, 'users/bob/x')).toBe(false);
    expect(acl.canPublish(anon, 'users//x')).toBe(false);
    expect(acl.canPublish(anon, 'clients/c2')).toBe(true);
    expect(acl.canRead(anon, 'clients/c2')).toBe(false);
  });

  it('does not let a ClientId or user name with wildcards widen a pattern', () => {
    const acl = new Acl([{ topic: 'clients/%c', access: 'readwrite' }]);
    expect(acl.canSubscribe({ clientId: '#', username: undefined }, 'clients/#')).toBe(false);
    expect(acl.canPublish({ clientId: 'a/b', username: undefined }, 'clients/a/b')).toBe(false);
  });
});

describe('credentials', () => {
  it('compares passwords byte for byte', () => {
    expect(passwordMatches(b('s3cret'), 's3cret')).toBe(true);
    expect(passwordMatches(b('s3cret!'), 's3cret')).toBe(false);
    expect(passwordMatches(undefined, '')).toBe(false);
  });

  it('accepts, or answers 4 (bad user name or password) or 5 (not authorised)', () => {
    const users = { alice: 'pw' };
    expect(checkCredentials('alice', b('pw'), users, false, false)).toBe(0);
    expect(checkCredentials('alice', b('no'), users, false, false)).toBe(4);
    expect(checkCredentials('alice', undefined, users, true, false)).toBe(4);
    expect(checkCredentials('mallory', b('pw'), users, true, false)).toBe(4);
    expect(checkCredentials(undefined, undefined, users, false, false)).toBe(5);
    expect(checkCredentials(undefined, undefined, users, true, false)).toBe(0);
    expect(checkCredentials('bob', b('x'), undefined, false, true)).toBe(0); // the hook decides
    expect(checkCredentials('bob', b('x'), undefined, false, false)).toBe(5); // nothing can verify it
  });
});
