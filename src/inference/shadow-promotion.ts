/**
 * Promotion after a shadow period: the shadow runner's comparisons of a candidate version with the
 * serving one are added up per candidate version, and once the candidate has answered `minInputs`
 * inputs of the classes the serving version knows, it is promoted when it agreed on at least
 * `minAgreement` of them (the serving alias is moved to it, and the node's follower swaps it in),
 * else rejected — each verdict once per version. Inputs the candidate puts in a class the serving
 * version does not have (a new class) are counted apart: disagreeing there is the point of it.
 */
import type { Logger } from '../core/logger.js';

/** The gate's policy. */
export interface ShadowPromotionPolicy {
  /** Inputs of known classes the candidate must have answered before the verdict. */
  readonly minInputs: number;
  /** Least share of them whose top class equals the serving version's. */
  readonly minAgreement: number;
}

/** A verdict on one candidate version. */
export interface ShadowVerdict {
  readonly version: string;
  readonly verdict: 'promoted' | 'rejected';
  readonly compared: number;
  readonly agreed: number;
  readonly newClass: number;
  readonly reason: string;
}

interface Tally {
  compared: number;
  agreed: number;
  newClass: number;
  decided: boolean;
}

/** Candidate versions remembered at most; why: bounded memory over many retrainings. */
const MAX_VERSIONS = 32;

/** Adds up shadow comparisons per candidate version and decides once per version; why: see the file comment. */
export class ShadowPromotion {
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly policy: ShadowPromotionPolicy,
    /** Moves the serving alias to `version`; the gate awaits it and logs a failure (the verdict is retried at the next comparison). */
    private readonly promote: (version: string, reason: string) => Promise<void>,
    private readonly onVerdict: (verdict: ShadowVerdict) => void,
    private readonly logger: Logger | undefined,
  ) {}

  /** One shadow batch of candidate `version` against serving `servingVersion`: rows agreeing, disagreeing on known classes, and put in a new class. */
  async compared(version: string, servingVersion: string, agreed: number, disagreed: number, newClass: number): Promise<ShadowVerdict | undefined> {
    let tally = this.tallies.get(version);
    if (tally === undefined) {
      tally = { compared: 0, agreed: 0, newClass: 0, decided: false };
      this.tallies.set(version, tally);
      if (this.tallies.size > MAX_VERSIONS) this.tallies.delete(this.tallies.keys().next().value as string);
    }
    if (tally.decided) return undefined;
    tally.compared += agreed + disagreed;
    tally.agreed += agreed;
    tally.newClass += newClass;
    if (tally.compared < this.policy.minInputs) return undefined;
    const share = tally.agreed / tally.compared;
    const figures = `${(100 * share).toFixed(1)} % agreement with version ${servingVersion} on ${tally.compared} inputs of the classes it knows (${tally.newClass} more put in a new class)`;
    tally.decided = true;
    if (share < this.policy.minAgreement) {
      const verdict: ShadowVerdict = { version, verdict: 'rejected', compared: tally.compared, agreed: tally.agreed, newClass: tally.newClass, reason: `shadow: ${figures}, below ${(100 * this.policy.minAgreement).toFixed(1)} %` };
      this.logger?.warn({ version, compared: tally.compared, agreed: tally.agreed, newClass: tally.newClass }, `Candidate version not promoted after its shadow period: ${verdict.reason}.`);
      this.onVerdict(verdict);
      return verdict;
    }
    const reason = `shadow: ${figures}`;
    try {
      await this.promote(version, reason);
    } catch (error) {
      tally.decided = false;
      this.logger?.error({ version, err: error }, 'Could not promote the candidate version after its shadow period; trying again at the next comparison.');
      return undefined;
    }
    const verdict: ShadowVerdict = { version, verdict: 'promoted', compared: tally.compared, agreed: tally.agreed, newClass: tally.newClass, reason };
    this.logger?.info({ version, compared: tally.compared, agreed: tally.agreed, newClass: tally.newClass }, `Candidate version promoted after its shadow period: ${reason}.`);
    this.onVerdict(verdict);
    return verdict;
  }
}
