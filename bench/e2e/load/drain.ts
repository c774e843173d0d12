/**
 * A load publisher's stop: wait, bounded in time, until its last QoS 1/2 message in flight is
 * acknowledged. Shared by the codec-built publisher and the MQTT.js one.
 */
export class Drain {
  #waiter: (() => void) | undefined;

  /** Resolves at the next `settled()` or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve();
      }, timeoutMs);
      this.#waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Nothing is in flight any more. */
  settled(): void {
    this.#waiter?.();
  }
}
