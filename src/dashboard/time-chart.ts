/**
 * One time-series chart (uPlot) over the sample window: a card with a title, the chart, and a note
 * instead of the chart while none of its series has a value.
 */
import uPlot from 'uplot';
import { h, setText } from './dom.js';
import { formatClock, MISSING } from './lib/format.js';
import { visibleRange } from './lib/sample-history.js';
import type { SampleHistory, SeriesKey } from './lib/sample-history.js';

export interface ChartSeries {
  readonly key: SeriesKey;
  readonly label: string;
  readonly color: string;
}

export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly series: readonly ChartSeries[];
  /** Formats a value for the axis and the legend. */
  readonly format: (value: number) => string;
  /** The y range's upper end when fixed (e.g. 1 for ratios); otherwise the data's maximum. */
  readonly yMax?: number;
  /** Whole-number values (counts): ticks at whole numbers only, so a small range does not label 0, 1, 1. */
  readonly integer?: boolean;
  /** Shown instead of the chart while no series has a value. */
  readonly emptyNote: string;
  /** The whole card stays hidden while no series has a value (a GPU chart on a machine without one). */
  readonly hiddenWhenEmpty?: boolean;
}

const HEIGHT = 160;
/** Tick steps for whole-number series. */
const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9];
const AXIS_COLOR = '#9aa4b2';
const GRID_COLOR = 'rgba(154, 164, 178, 0.15)';

export class TimeChart {
  private readonly plot: uPlot;
  private readonly note: HTMLElement;
  private readonly body: HTMLElement;
  private readonly card: HTMLElement;

  constructor(container: HTMLElement, private readonly spec: ChartSpec, windowSeconds: number) {
    this.body = h('div', { class: 'chart-body' });
    this.note = h('p', { class: 'note chart-note' }, [spec.emptyNote]);
    this.card = h('section', { class: 'card chart', 'data-chart': spec.id }, [h('h2', {}, [spec.title]), this.note, this.body]);
    this.card.hidden = spec.hiddenWhenEmpty === true;
    container.append(this.card);
    const format = (value: number | null | undefined): string => (value === null || value === undefined ? MISSING : spec.format(value));
    const axis: uPlot.Axis = { stroke: AXIS_COLOR, grid: { stroke: GRID_COLOR, width: 1 }, ticks: { stroke: GRID_COLOR, width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(200, this.body.clientWidth || 400),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          range: (self) => {
            const times = self.data[0];
            return visibleRange(times[0], times[times.length - 1], windowSeconds);
          },
        },
        y: { range: (_self, _min, max) => [0, spec.yMax ?? (max > 0 ? max * 1.1 : 1)] },
      },
      axes: [
        { ...axis, space: 72, values: (_self, splits) => splits.map((t) => formatClock(t)) },
        { ...axis, size: 64, values: (_self, splits) => splits.map((v) => format(v)), ...(spec.integer === true ? { incrs: INTEGER_STEPS } : {}) },
      ],
      series: [
        { label: 'time', value: (_self, t) => formatClock(t) },
        ...spec.series.map((s): uPlot.Series => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false, points: { show: false }, value: (_self, v) => format(v) })),
      ],
    };
    this.plot = new uPlot(options, [[], ...spec.series.map(() => [])], this.body);
    new ResizeObserver(() => this.resize()).observe(this.body);
  }

  private resize(): void {
    const width = this.body.clientWidth;
    if (width > 0 && Math.abs(width - this.plot.width) > 1) this.plot.setSize({ width, height: HEIGHT });
  }

  /** Redraws from the history, or shows the note while there is nothing to draw. */
  update(history: SampleHistory): void {
    const keys = this.spec.series.map((s) => s.key);
    const empty = !keys.some((key) => history.hasValues(key));
    setText(this.note, history.size === 0 ? 'Waiting for data…' : this.spec.emptyNote);
    this.note.hidden = !empty;
    if (this.spec.hiddenWhenEmpty === true) this.card.hidden = empty;
    this.body.classList.toggle('empty', empty);
    const columns = history.columns(keys);
    // How many points the chart draws, for tests and the curious.
    this.body.dataset.points = String(columns[0].length);
    this.plot.setData(columns);
  }
}
