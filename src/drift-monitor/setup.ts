/** Resolves a drift node's profile and feature list into a window setup, refusing what the mode cannot compute. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { BINNED_METHODS } from '../drift/counts-drift.js';
import { DRIFT_METHODS, isDriftMethodId } from '../drift/methods.js';
import type { DriftMethodId } from '../drift/types.js';
import { profileFeatureSpecs, readReferenceProfile } from './profile.js';
import type { ReferenceProfile } from './profile.js';
import type { ColumnChoice } from './report.js';
import type { WindowMode, WindowSetup } from './window-state.js';

/** Reads the profile named directly, or by the model manifest's `referenceProfile`; why: a profile belongs to a model version. */
export async function loadProfileFor(options: { readonly profile?: string; readonly modelDir?: string }, baseDir: string, nodeId: string): Promise<ReferenceProfile> {
  let file: string;
  if (options.profile !== undefined) {
    file = path.resolve(baseDir, options.profile);
  } else if (options.modelDir !== undefined) {
    const dir = path.resolve(baseDir, options.modelDir);
    let manifest: { referenceProfile?: unknown };
    try {
      manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { referenceProfile?: unknown };
    } catch (error) {
      throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: cannot read ${path.join(dir, 'manifest.json')}: ${(error as Error).message}`);
    }
    if (typeof manifest.referenceProfile !== 'string') {
      throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: the manifest in ${dir} has no \`referenceProfile\`; build one with \`centaur drift profile\`, or give \`profile\``);
    }
    file = path.resolve(dir, manifest.referenceProfile);
  } else {
    // Unreachable for validated options: the `drift` specs' `validate` refuses a node with neither.
    throw new CentaurError('INTERNAL', `node \`${nodeId}\`: give \`profile\` (a profile file) or \`model\` (a model folder whose manifest names one)`);
  }
  try {
    return await readReferenceProfile(file);
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: ${(error as Error).message}`, { cause: error });
  }
}

/** The setup of a node's windows, with every problem of its feature and method choices in one error. */
export function resolveSetup(
  profile: ReferenceProfile,
  o: {
    readonly mode: WindowMode;
    readonly features?: readonly string[];
    readonly sampleCap: number;
    readonly embedding: boolean;
    readonly columns?: Readonly<Record<string, { readonly method?: string; readonly threshold?: number }>>;
    readonly thresholds?: 'auto' | 'calibrated' | 'evidently';
  },
  nodeId: string,
): { setup: WindowSetup; columns: Record<string, ColumnChoice> } {
  const problems: string[] = [];
  const available = profileFeatureSpecs(profile.classes).filter((f) => profile.features[f.name] !== undefined);
  const names = o.features ?? available.map((f) => f.name);
  const features = names.flatMap((name) => {
    const spec = available.find((f) => f.name === name);
    if (spec === undefined) problems.push(`feature \`${name}\` is not in the reference profile (it has ${available.map((f) => f.name).join(', ')})`);
    return spec === undefined ? [] : [spec];
  });
  const columns: Record<string, ColumnChoice> = {};
  for (const [name, choice] of Object.entries(o.columns ?? {})) {
    const spec = features.find((f) => f.name === name);
    if (spec === undefined) {
      problems.push(`columns: \`${name}\` is not a monitored feature`);
      continue;
    }
    let method: DriftMethodId | undefined;
    if (choice.method !== undefined) {
      if (!isDriftMethodId(choice.method)) problems.push(`columns.${name}: unknown method \`${choice.method}\``);
      else if (!DRIFT_METHODS[choice.method].kinds.includes(spec.kind)) problems.push(`columns.${name}: method ${choice.method} does not apply to ${spec.kind} features`);
      else if (spec.kind === 'numerical' && o.mode === 'streaming' && !BINNED_METHODS.includes(choice.method)) problems.push(`columns.${name}: the streaming mode keeps bins, so numerical features take ${BINNED_METHODS.join(', ')}`);
      else method = choice.method;
    }
    columns[name] = { ...(method === undefined ? {} : { method }), ...(choice.threshold === undefined ? {} : { threshold: choice.threshold }) };
  }
  if (features.length === 0 && problems.length === 0) problems.push('no feature to monitor');
  const thresholds = o.thresholds ?? 'auto';
  const calibration = thresholds === 'evidently' ? undefined : profile.calibration;
  if (thresholds === 'calibrated' && calibration === undefined) problems.push('`thresholds: calibrated` needs a calibrated profile: build it again with `centaur drift profile` (it calibrates unless `--no-calibrate`), or say `thresholds: evidently`');
  if (problems.length > 0) throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: ${problems.join('; ')}`);
  return {
    setup: {
      profile,
      mode: o.mode,
      features,
      sampleCap: o.sampleCap,
      embedding: o.embedding && profile.embedding !== null,
      ...(calibration === undefined ? {} : { calibration: calibration.modes[o.mode], falseAlarmRate: calibration.falseAlarmRate }),
    },
    columns,
  };
}

/** Logs which thresholds a node's verdicts use; why: an uncalibrated profile alarms on small windows, and the operator should know. */
export function noteThresholds(thresholds: 'auto' | 'calibrated' | 'evidently', setup: WindowSetup, logger: Logger, nodeId: string): void {
  if (setup.calibration !== undefined) {
    logger.info({ node: nodeId, falseAlarmRate: setup.falseAlarmRate, sizes: setup.calibration.sizes.map((s) => s.size) }, 'Drift verdicts use the profile\'s calibrated thresholds.');
  } else if (thresholds === 'auto') {
    logger.warn({ node: nodeId }, 'The reference profile is not calibrated: drift verdicts use Evidently\'s fixed thresholds, which alarm on stationary windows of a few hundred inputs. Build the profile again with `centaur drift profile` to calibrate it.');
  }
}
