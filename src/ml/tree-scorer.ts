/** @module ml/tree-scorer
 * Adapts a tree model (gbdt or rf, format stockpipe-trees) to the VolumeScorer interface: the
 * engine's prediction (target transform or link undone) clipped at 0, scored on the packed form of the
 * trees (ml/gbdt/packed: the same number as gbdt/model's predict, faster for one row). */
import { fromJSON, toJSON, type ModelKind, type TreeModel } from './gbdt/model.js';
import { packTrees, predictPacked } from './gbdt/packed.js';

/** volume-model's VolumeScorer for a tree kind (declared here: volume-model imports this file). */
export interface TreeVolumeScorer {
  kind: ModelKind;
  predict(vma: number, acm: number): number;
  toJSON(): string;
}

export function isTreeModelJson(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as { format?: unknown }).format === 'stockpipe-trees';
}

/** Wraps a trained model. */
export function scorerForTrees(model: TreeModel): TreeVolumeScorer {
  const row = new Float64Array(2);
  const packed = packTrees(model);
  return {
    kind: model.kind,
    predict(vma: number, acm: number): number {
      row[0] = vma;
      row[1] = acm;
      const v = predictPacked(packed, row);
      return v > 0 ? v : 0;
    },
    toJSON: () => toJSON(model),
  };
}

/** Loads model.json of a tree model (validated by fromJSON: SP_ERR_MODEL_FORMAT). */
export function treeScorer(json: unknown, where: string): TreeVolumeScorer {
  return scorerForTrees(fromJSON(json, where));
}
