/**
 * The runtime's record of one input: how many sink acknowledgements it still waits for (one per
 * path from its source to a sink), and what happened to it. Forks of an envelope share it.
 */
import type { Delivery } from '../core/envelope.js';

export class DeliveryState implements Delivery {
  /** Acknowledgements still expected. */
  pending: number;
  deadLettered_ = false;
  predicted = false;
  /** Whether a prediction was compared with a ground-truth label, and matched. */
  labelled = false;
  correct = false;
  /** With a label: the true class (the model's class, or `other` for one outside its list) and the predicted one. */
  trueClass: string | undefined;
  predictedClass: string | undefined;
  done = false;

  constructor(
    readonly source: string,
    readonly partition: string,
    readonly offset: number,
    /** The read of the partition this offset belongs to (PartitionOffsets). */
    readonly epoch: number,
    readonly bytes: number,
    readonly receivedAt: number,
    /** Event time, ms since the epoch. */
    readonly eventTime: number,
    expected: number,
    private readonly pathsFrom: (node: string) => number,
    private readonly onComplete: (state: DeliveryState) => void,
  ) {
    this.pending = expected;
  }

  acknowledge(): void {
    this.settle(1);
  }

  deadLettered(nodeId: string): void {
    this.deadLettered_ = true;
    this.settle(Math.max(1, this.pathsFrom(nodeId)));
  }

  /** An operator at `nodeId` did not pass the envelope on (a filter): every path through it is done, without a failure. */
  dropped(nodeId: string): void {
    this.settle(Math.max(1, this.pathsFrom(nodeId)));
  }

  private settle(count: number): void {
    if (this.done) throw new Error(`input ${this.source}/${this.partition}/${this.offset} settled after it completed`);
    this.pending -= count;
    if (this.pending <= 0) {
      this.done = true;
      this.onComplete(this);
    }
  }
}
