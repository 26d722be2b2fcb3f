/**
 * Moving a model between aliases the way a team promotes: the next free version number for a new
 * version, and rollback — the alias back to the version it named before the move that set its
 * current version, read from the registry's alias history (so rolling back twice goes two steps
 * back, not to and fro); an alias moved outside Centaur (in MLflow's UI) goes back to the version
 * the last recorded move set.
 */
import { CentaurError } from '../core/errors.js';
import type { ModelRegistryApi } from './model-registry.js';

/** One more than the largest whole-number version of `model` (and of `atLeast`), "1" for a new model. */
export async function nextVersion(registry: ModelRegistryApi, model: string, atLeast?: string): Promise<string> {
  const versions = await registry.versions(model).catch((error: unknown) => {
    if (error instanceof CentaurError && error.code === 'MODEL_NOT_FOUND') return [];
    throw error;
  });
  const numbers = [...versions.map((v) => v.version), ...(atLeast === undefined ? [] : [atLeast])].filter((v) => /^\d{1,15}$/.test(v)).map(Number);
  return String(Math.max(0, ...numbers) + 1);
}

/** What a rollback did. */
export interface Rollback {
  readonly alias: string;
  readonly from: string;
  readonly to: string;
}

/** Points `alias` back at the version it named before its current one; MODEL_NOT_FOUND when there is no earlier one. */
export async function rollback(registry: ModelRegistryApi, model: string, alias = 'production'): Promise<Rollback> {
  const current = (await registry.aliases(model))[alias];
  if (current === undefined) throw new CentaurError('MODEL_NOT_FOUND', `\`${model}\` has no alias \`${alias}\` to roll back`);
  // Moves that changed nothing (an alias set again to the version it named) are not steps.
  const moves = (await registry.aliasHistory(model)).filter((m) => m.alias === alias && m.from !== m.version);
  const setting = moves.filter((m) => m.reason !== 'rollback' && m.version === current);
  // Moved outside Centaur (e.g. in MLflow's UI): back to the version the last recorded move set.
  const outside = moves.length > 0 && moves[moves.length - 1]?.version !== current ? (moves[moves.length - 1]?.version ?? null) : null;
  const previous = outside ?? setting[setting.length - 1]?.from ?? null;
  if (previous === null) throw new CentaurError('MODEL_NOT_FOUND', `\`${model}\` ${alias} → ${current} has no earlier version in the alias history to roll back to`);
  await registry.setAlias(model, alias, previous, { reason: 'rollback' });
  return { alias, from: current, to: previous };
}
