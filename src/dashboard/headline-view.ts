/**
 * The headline numbers: throughput, completions, dead letters, p95 latency, in-flight, model
 * version, uptime and readiness (with the failing parts), one tile each.
 */
import { h, setText } from './dom.js';
import { formatBytes, formatRate, formatSeconds, formatUptime, MISSING } from './lib/format.js';
import type { Readiness, Summary } from './lib/api-types.js';

interface Tile {
  readonly root: HTMLElement;
  readonly value: HTMLElement;
  readonly detail: HTMLElement;
}

const TILES = [
  ['inputs', 'Inputs/s'],
  ['completed', 'Completed/s'],
  ['dead-letters', 'Dead letters/s'],
  ['p95', 'p95 latency'],
  ['in-flight', 'In flight'],
  ['model', 'Model version'],
  ['uptime', 'Uptime'],
  ['ready', 'Readiness'],
] as const;

type TileName = (typeof TILES)[number][0];

export class HeadlineView {
  private readonly tiles = new Map<TileName, Tile>();
  private ready: boolean | undefined;
  private failing: Readiness['failing'] = [];

  constructor(container: HTMLElement) {
    for (const [name, label] of TILES) {
      const value = h('div', { class: 'value' }, [MISSING]);
      const detail = h('div', { class: 'detail' });
      const root = h('section', { class: 'tile', 'data-metric': name }, [h('h3', {}, [label]), value, detail]);
      this.tiles.set(name, { root, value, detail });
      container.append(root);
    }
  }

  private tile(name: TileName): Tile {
    const tile = this.tiles.get(name);
    if (tile === undefined) throw new Error(`no tile ${name}`);
    return tile;
  }

  private show(name: TileName, value: string, detail = '', alert = false): void {
    const tile = this.tile(name);
    setText(tile.value, value);
    if (tile.value.title !== value) tile.value.title = value;
    setText(tile.detail, detail);
    tile.root.classList.toggle('alert', alert);
  }

  /** Shows the numbers of one summary. */
  update(summary: Summary): void {
    const { throughput, inFlight, totals } = summary;
    const latency = summary.latencySeconds ?? { p50: null, p95: null, p99: null };
    this.show('inputs', formatRate(throughput.inputs), `${totals.inputs.toLocaleString('en-US')} in total`);
    this.show('completed', formatRate(throughput.completed), `${totals.completed.toLocaleString('en-US')} in total`);
    this.show('dead-letters', formatRate(throughput.deadLetters), `${totals.deadLetters.toLocaleString('en-US')} in total`, throughput.deadLetters > 0);
    this.show('p95', formatSeconds(latency.p95), `p50 ${formatSeconds(latency.p50)} · p99 ${formatSeconds(latency.p99)}`);
    this.show('in-flight', inFlight.envelopes.toLocaleString('en-US'), `${formatBytes(inFlight.bytes)}${inFlight.paused ? ' · sources paused' : ''}`, inFlight.paused);
    const versions = summary.models.map((m) => m.version);
    const models = summary.models.map((m) => `${m.model} (${m.node})`);
    this.show('model', versions.length === 0 ? MISSING : [...new Set(versions)].join(', '), models.length === 0 ? 'no infer node' : models.join(', '));
    this.show('uptime', formatUptime(summary.uptimeSeconds), summary.state);
    this.ready = summary.ready;
    this.showReadiness();
  }

  /** Takes the failing readiness checks from a status snapshot (summaries carry only the flag). */
  updateReadiness(readiness: Readiness): void {
    this.ready ??= readiness.ready;
    this.failing = readiness.ready ? [] : readiness.failing;
    this.showReadiness();
  }

  private showReadiness(): void {
    if (this.ready === undefined) return;
    const parts = this.failing.map((f) => `${f.part}: ${f.reason}`).join('; ');
    this.show('ready', this.ready ? 'Ready' : 'Not ready', this.ready ? '' : parts.length > 0 ? parts : 'failing parts pending', !this.ready);
  }
}
