/**
 * Who gets a message: the subscription tree and the retained-message store (spec 4.7, 3.3.1.3).
 *
 * Subscriptions live in a tree with one node per topic level, so finding the subscribers of a
 * topic walks only the branches that can match (the literal level, `+` and `#`), however many
 * other filters exist. Each node keeps the clients whose filter ends there, with their granted QoS.
 *
 * Matching is on raw strings: no normalisation, no case folding [MQTT-4.7.3-4].
 */
import { topicMatches } from '../codec/index.js';
import type { QoS } from '../codec/index.js';

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

/** The subscription tree: topic filters → (clientId → granted QoS). */
export class SubscriptionTree {
  readonly #root = new TrieNode();
  #count = 0;

  /** Number of (client, filter) subscriptions held. */
  get size(): number {
    return this.#count;
  }

  /**
   * Adds or replaces `clientId`'s subscription to `topicFilter`. Returns `true` when it replaced an
   * existing one: the same filter string replaces, it never duplicates [MQTT-3.8.4-3].
   */
  add(topicFilter: string, clientId: string, qos: QoS): boolean {
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
    this.#count--;
    // Prune branches left empty so the tree does not keep every filter ever used.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i];
      const child = parent.children.get(level)!;
      if (!child.isEmpty()) break;
      parent.children.delete(level);
    }
    return true;
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
      const node = nodes.pop()!;
      const i = depths.pop()!;
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
      const literal = node.children.get(parts[i]);
      if (literal) {
        nodes.push(literal);
        depths.push(i + 1);
      }
    }
    return out;
  }
}

/** A message kept for future subscribers of its topic (spec 3.3.1.3). */
export interface RetainedMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
}

/**
 * Retained messages, one per topic. They belong to the server, not to any session, so they
 * outlive the sessions that published them [MQTT-3.1.2-7].
 */
export class RetainedStore {
  readonly #byTopic = new Map<string, RetainedMessage>();

  /** Number of topics with a retained message. */
  get size(): number {
    return this.#byTopic.size;
  }

  /**
   * Stores a RETAIN=1 publication, replacing the topic's previous one [MQTT-3.3.1-5] [MQTT-3.3.1-7].
   * An empty payload deletes the topic's retained message and is never stored itself
   * [MQTT-3.3.1-10] [MQTT-3.3.1-11].
   */
  set(topic: string, payload: Uint8Array, qos: QoS): void {
    if (payload.length === 0) this.#byTopic.delete(topic);
    else this.#byTopic.set(topic, { topic, payload, qos });
  }

  /** The retained message of exactly `topic`, if any. */
  get(topic: string): RetainedMessage | undefined {
    return this.#byTopic.get(topic);
  }

  /** Every retained message whose topic matches `topicFilter` [MQTT-3.3.1-6] (with [MQTT-4.7.2-1]). */
  matching(topicFilter: string): RetainedMessage[] {
    if (!topicFilter.includes('+') && !topicFilter.includes('#')) {
      const m = this.#byTopic.get(topicFilter);
      return m ? [m] : [];
    }
    const out: RetainedMessage[] = [];
    for (const m of this.#byTopic.values()) if (topicMatches(topicFilter, m.topic)) out.push(m);
    return out;
  }

  /** Every retained message, in the order their topics were first retained. */
  values(): IterableIterator<RetainedMessage> {
    return this.#byTopic.values();
  }

  /** Removes every retained message. */
  clear(): void {
    this.#byTopic.clear();
  }
}
