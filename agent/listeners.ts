/**
 * Hands incident events to listeners (PCAP recorder, log, later the reporters and mitigation)
 * without ever making the capture loop wait: each listener has its own bounded queue and
 * worker; a full queue drops the event and counts it.
 *
 * @module
 */

import type { IncidentEvent } from "../core/detect/mod.ts";

/** Something that acts on incident events, possibly slowly. */
export interface Listener {
  /** Name used in counters and logs. */
  readonly name: string;
  /** Handles one event; may be async. A throw is counted, never propagated. */
  handle(event: IncidentEvent): void | Promise<void>;
}

/** Counters of one listener. */
export interface ListenerStats {
  /** The listener's name. */
  name: string;
  /** Events waiting in its queue. */
  queued: number;
  /** Events it handled. */
  handled: number;
  /** Events dropped because its queue was full. */
  dropped: number;
  /** Events it threw on. */
  failed: number;
}

const DEFAULT_CAPACITY = 1000;

class Lane {
  readonly queue: IncidentEvent[] = [];
  handled = 0;
  dropped = 0;
  failed = 0;
  running: Promise<void> | null = null;
  constructor(readonly listener: Listener, readonly capacity: number) {}
}

/** Dispatches events to every listener through bounded queues. */
export class Listeners {
  readonly #lanes: Lane[] = [];
  readonly #onError: (listener: string, error: unknown) => void;
  readonly #onDrop: (listener: string, dropped: number) => void;

  /** `onError` hears listener failures; `onDrop` hears each overflow (with the total dropped). */
  constructor(options: {
    onError?: (listener: string, error: unknown) => void;
    onDrop?: (listener: string, dropped: number) => void;
  } = {}) {
    this.#onError = options.onError ?? (() => {});
    this.#onDrop = options.onDrop ?? (() => {});
  }

  /** Adds a listener with a queue of `capacity` events. */
  add(listener: Listener, capacity = DEFAULT_CAPACITY): void {
    this.#lanes.push(new Lane(listener, capacity));
  }

  /** Queues `event` for every listener; returns at once. */
  emit(event: IncidentEvent): void {
    for (const lane of this.#lanes) {
      if (lane.queue.length >= lane.capacity) {
        lane.dropped++;
        this.#onDrop(lane.listener.name, lane.dropped);
        continue;
      }
      lane.queue.push(event);
      if (lane.running === null) lane.running = this.#drain(lane);
    }
  }

  /** Waits until every queue is empty, or `timeoutMs` passed; true when all drained. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const drained = (async () => {
      for (;;) {
        const running = this.#lanes.map((l) => l.running).filter((r) => r !== null);
        if (running.length === 0) return true;
        await Promise.all(running);
      }
    })();
    try {
      return await Promise.race([drained, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counters of every listener. */
  stats(): ListenerStats[] {
    return this.#lanes.map((l) => ({
      name: l.listener.name,
      queued: l.queue.length,
      handled: l.handled,
      dropped: l.dropped,
      failed: l.failed,
    }));
  }

  async #drain(lane: Lane): Promise<void> {
    // Start on a later turn: the capture loop that emitted goes on first.
    await Promise.resolve();
    while (lane.queue.length > 0) {
      const event = lane.queue.shift()!;
      try {
        await lane.listener.handle(event);
        lane.handled++;
      } catch (err) {
        lane.failed++;
        this.#onError(lane.listener.name, err);
      }
    }
    lane.running = null;
  }
}
