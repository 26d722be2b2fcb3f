/**
 * The pause and stop state of a source that reads in a loop (`files-source`, `object-source`),
 * and its two waits: while paused (backpressure), and between polls. `resume` and `stop` end
 * either wait at once, so a stopped source never sleeps out its poll interval.
 */
export class PauseGate {
  private paused = false;
  private halted = false;
  private wake: (() => void) | undefined;

  /** Whether `stop` was called. */
  get stopped(): boolean {
    return this.halted;
  }

  /** Stops reading at the next `whilePaused` (the runtime's backpressure). */
  pause(): void {
    this.paused = true;
  }

  /** Lets reading go on, ending a wait. */
  resume(): void {
    this.paused = false;
    this.wakeUp();
  }

  /** Marks the source stopped, ending a wait. */
  stop(): void {
    this.halted = true;
    this.wakeUp();
  }

  /** Resolves once the source is not paused, or is stopped. */
  async whilePaused(): Promise<void> {
    while (this.paused && !this.halted) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Resolves after `ms` milliseconds, or sooner on `resume` or `stop`. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
