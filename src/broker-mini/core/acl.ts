/**
 * The built-in authorisation: ACL rules.
 *
 * ACL semantics — a small, documented subset of mosquitto's:
 * - With no rules configured, everything is allowed. With at least one rule, anything no rule
 *   allows is denied.
 * - A rule applies to the client whose user name equals `rule.user`, or to every client when
 *   `user` is omitted.
 * - In `topic`, `%u` stands for the client's user name and `%c` for its ClientId. A rule using
 *   `%u` does not apply to a client without a user name.
 * - `deny` rules win over any allowing rule.
 * - Publishing to a topic needs a `write`/`readwrite` rule whose filter matches the topic.
 * - Subscribing to a filter needs a `read`/`readwrite` rule whose filter covers every topic the
 *   subscription could match, and no `deny` rule covering it.
 * - Reading is checked again for every message at the moment it is written to a connection
 *   (live, queued, resent in flight, retained), against that connection's user name and ClientId.
 *   So a broad subscription (`#`) allowed by one rule still skips topics a `deny` rule names, and
 *   a persistent session taken over by another user hands that user nothing it may not read
 *   (`Session.accept`, and `BrokerOptions.takeoverByOtherUser` for the subscriptions).
 */
import { topicMatches } from '../../codec/index.js';

/** What an ACL rule grants. `deny` takes precedence over everything else. */
export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

/** One access-control rule (see the module comment for how rules combine). */
export interface AclRule {
  /** User name the rule applies to; omitted → every client, including anonymous ones. */
  user?: string;
  /** A topic filter; `%u` → user name, `%c` → ClientId. */
  topic: string;
  access: AclAccess;
}

/** Who is asking, as the ACL sees it. */
export interface AclSubject {
  clientId: string;
  username: string | undefined;
}

/** The rule's filter for this client, or `undefined` when the rule cannot apply to it. */
function resolve(rule: AclRule, who: AclSubject): string | undefined {
  if (rule.user !== undefined && rule.user !== who.username) return undefined;
  if (rule.topic.includes('%u') && who.username === undefined) return undefined;
  // Substituted values containing wildcards or '/' must not widen the rule, so a ClientId like '#'
  // cannot turn 'clients/%c' into 'clients/#'.
  const unsafe = (v: string) => /[+#/]/.test(v);
  if (rule.topic.includes('%c') && unsafe(who.clientId)) return undefined;
  if (rule.topic.includes('%u') && unsafe(who.username!)) return undefined; // a %u rule without a user name returned above
  return rule.topic.replaceAll('%u', who.username ?? '').replaceAll('%c', who.clientId);
}

/**
 * Does filter `outer` match every topic that filter `inner` matches? Level by level: `#` covers the
 * rest, `+` covers any single non-`#` level, a literal covers only itself.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  for (let k = 0; k < o.length; k++) {
    if (o[k] === '#') return !(k === 0 && inner.startsWith('$')); // [MQTT-4.7.2-1]
    if (k >= i.length) return false;
    if (i[k] === '#') return false;
    if (o[k] === '+') {
      if (k === 0 && inner.startsWith('$')) return false;
      continue;
    }
    if (o[k] !== i[k]) return false;
  }
  return o.length === i.length;
}

/** ACL rules compiled for lookups. */
export class Acl {
  readonly rules: readonly AclRule[];

  constructor(rules: readonly AclRule[]) {
    this.rules = rules;
  }

  /** True when no rule is configured (everything allowed). */
  get open(): boolean {
    return this.rules.length === 0;
  }

  #applicable(who: AclSubject): Array<[string, AclAccess]> {
    const out: Array<[string, AclAccess]> = [];
    for (const r of this.rules) {
      const f = resolve(r, who);
      if (f !== undefined) out.push([f, r.access]);
    }
    return out;
  }

  /** May `who` publish to `topic`? */
  canPublish(who: AclSubject, topic: string): boolean {
    return this.#check(who, (f) => topicMatches(f, topic), 'write');
  }

  /** May `who` receive a message published to `topic`? */
  canRead(who: AclSubject, topic: string): boolean {
    return this.#check(who, (f) => topicMatches(f, topic), 'read');
  }

  /** May `who` subscribe to `topicFilter`? */
  canSubscribe(who: AclSubject, topicFilter: string): boolean {
    return this.#check(who, (f) => filterCovers(f, topicFilter), 'read');
  }

  #check(who: AclSubject, applies: (filter: string) => boolean, want: 'read' | 'write'): boolean {
    if (this.open) return true;
    let allowed = false;
    for (const [filter, access] of this.#applicable(who)) {
      if (!applies(filter)) continue;
      if (access === 'deny') return false;
      if (access === 'readwrite' || access === want) allowed = true;
    }
    return allowed;
  }
}

/**
 * The ACL in force for each session: the broker's, or (per_listener_settings) the ACL of the
 * listener its client last came through.
 */
export class SessionAcls {
  readonly #broker: Acl;
  readonly #byClientId = new Map<string, Acl>();

  constructor(rules: readonly AclRule[]) {
    this.#broker = new Acl(rules);
  }

  /** The ACL that applies to `clientId`'s session: its listener's, or the broker's. */
  of(clientId: string): Acl {
    return this.#byClientId.get(clientId) ?? this.#broker;
  }

  /** `clientId` connected through a listener with ACL `rules` of its own, or (undefined) without. */
  follow(clientId: string, rules: readonly AclRule[] | undefined): void {
    if (rules) this.#byClientId.set(clientId, new Acl(rules));
    else this.#byClientId.delete(clientId);
  }

  /** `clientId`'s session is gone: its listener's ACL goes with it. */
  forget(clientId: string): void {
    this.#byClientId.delete(clientId);
  }
}
