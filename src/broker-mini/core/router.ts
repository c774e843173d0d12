/**
 * Who gets a message: the subscription tree (spec 4.7).
 *
 * Subscriptions live in a tree with one node per topic level, so finding the subscribers of a
 * topic walks only the branches that can match (the literal level, `+` and `#`), however many
 * other filters exist. Each node keeps the clients whose filter ends there, with their granted QoS.
 *
 * Most traffic goes to topics seen a moment ago, so `routes` remembers the answer per topic
 * name until the subscriptions next change: a publish to a known topic neither splits it into
 * levels nor walks the tree. The memory is bounded in topics, topic length and entries.
 *
 * Matching is on raw strings: no normalisation, no case folding [MQTT-4.7.3-4].
 */
import type { QoS } from '../../codec/index.js';

/** A filter's level split: `'a/+/#'` → `['a', '+', '#']`. Empty levels are real levels (spec 4.7.1.1). */
function levels(topic: string): string[] {
  return topic.split('/');
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  /** clientId → granted QoS, for the filter that ends at this node. */
  readonly subscribers = new Map<string, QoS>();

  isEmpty(): boolean {
    return this.children.size === 0 && this.subscribers.size === 0;
  }
}

/** Subscribers of one topic: clientId → the highest QoS granted among that client's matching filters. */
export type Matches = Map<string, QoS>;

/** One subscriber of a topic, with the highest QoS granted among its matching filters. */
export interface Route {
  readonly clientId: string;
  readonly qos: QoS;
}

/** Bounds of the route cache: topic names remembered, longest one cached, routes held in all. */
const CACHE_TOPICS = 4096;
const CACHE_TOPIC_LENGTH = 256;
const CACHE_ROUTES = 256 * 1024;

/** The subscription tree: topic filters → (clientId → granted QoS). */
export class SubscriptionTree {
  readonly #root = new TrieNode();
  #count = 0;
  /** Topic name → its routes, valid until the next `add` or `remove`; oldest entries first. */
  readonly #cache = new Map<string, readonly Route[]>();
  #cachedRoutes = 0;

  /** Number of (client, filter) subscriptions held. */
  get size(): number {
    return this.#count;
  }

  /**
   * Adds or replaces `clientId`'s subscription to `topicFilter`. Returns `true` when it replaced an
   * existing one: the same filter string replaces, it never duplicates [MQTT-3.8.4-3].
   */
  add(topicFilter: string, clientId: string, qos: QoS): boolean {
    this.#forget();
    let node = this.#root;
    for (const level of levels(topicFilter)) {
      let next = node.children.get(level);
      if (!next) {
        next = new TrieNode();
        node.children.set(level, next);
      }
      node = next;
    }
    const existed = node.subscribers.has(clientId);
    node.subscribers.set(clientId, qos);
    if (!existed) this.#count++;
    return existed;
  }

  /**
   * Removes `clientId`'s subscription to exactly `topicFilter` — compared as a string, so
   * unsubscribing `a/+` does not touch `a/b` [MQTT-3.10.4-1]. Returns whether one was removed.
   */
  remove(topicFilter: string, clientId: string): boolean {
    const path: Array<[TrieNode, string]> = [];
    let node = this.#root;
    for (const level of levels(topicFilter)) {
      const next = node.children.get(level);
      if (!next) return false;
      path.push([node, level]);
      node = next;
    }
    if (!node.subscribers.delete(clientId)) return false;
    this.#forget();
    this.#count--;
    // Prune branches left empty so the tree does not keep every filter ever used.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!; // 0 <= i < length
      const child = parent.children.get(level)!; // the path was recorded on the way down, so each child exists
      if (!child.isEmpty()) break;
      parent.children.delete(level);
    }
    return true;
  }

  /** The subscriptions changed: every cached route may be wrong. */
  #forget(): void {
    if (this.#cache.size === 0) return;
    this.#cache.clear();
    this.#cachedRoutes = 0;
  }

  /**
   * `match(topic)` as a list, remembered until the subscriptions change. The list is shared:
   * do not modify it.
   */
  routes(topic: string): readonly Route[] {
    const cached = this.#cache.get(topic);
    if (cached !== undefined) return cached;
    const routes: Route[] = [];
    for (const [clientId, qos] of this.match(topic)) routes.push({ clientId, qos });
    if (topic.length > CACHE_TOPIC_LENGTH || routes.length > CACHE_ROUTES) return routes;
    // Full: forget the oldest entries (first in, first out — cheap, and close enough to LRU here).
    while (this.#cache.size >= CACHE_TOPICS || this.#cachedRoutes + routes.length > CACHE_ROUTES) {
      const [oldTopic, old] = this.#cache.entries().next().value!; // the collection is not empty here
      this.#cache.delete(oldTopic);
      this.#cachedRoutes -= old.length;
    }
    this.#cache.set(topic, routes);
    this.#cachedRoutes += routes.length;
    return routes;
  }

  /**
   * The clients subscribed to filters matching `topic`. A client with several matching filters
   * appears once, with the highest QoS granted among them, so the server sends it one copy
   * [MQTT-3.3.5-1].
   */
  match(topic: string): Matches {
    const out: Matches = new Map();
    const parts = levels(topic);
    // [MQTT-4.7.2-1] a filter starting with '+' or '#' never matches a topic starting with '$'.
    const dollar = topic.startsWith('$');
    const add = (node: TrieNode): void => {
      for (const [clientId, qos] of node.subscribers) {
        const prev = out.get(clientId);
        if (prev === undefined || qos > prev) out.set(clientId, qos);
      }
    };
    // An explicit stack, not recursion: a valid topic may have 32,768 levels (65,535 bytes of
    // '/'), far deeper than the call stack. Each node sits at one depth, so each is visited once.
    const nodes: TrieNode[] = [this.#root];
    const depths: number[] = [0];
    while (nodes.length > 0) {
      const node = nodes.pop()!; // not empty: checked just before
      const i = depths.pop()!; // not empty: checked just before
      if (i === parts.length) {
        add(node);
        // 'sport/#' also matches 'sport': '#' includes the parent level (spec 4.7.1.2).
        const hash = node.children.get('#');
        if (hash) add(hash);
        continue;
      }
      if (!(dollar && i === 0)) {
        const hash = node.children.get('#');
        if (hash) add(hash);
        const plus = node.children.get('+');
        if (plus) {
          nodes.push(plus);
          depths.push(i + 1);
        }
      }
      const literal = node.children.get(parts[i]!); // i < parts.length
      if (literal) {
        nodes.push(literal);
        depths.push(i + 1);
      }
    }
    return out;
  }
}
