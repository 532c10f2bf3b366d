/** @module ml/tree-scorer
 * Adapts a tree model (gbdt or rf, format stockpipe-trees) to the VolumeScorer interface: the
 * engine's prediction (target transform or link undone) clipped at 0, scored on the packed form of the
 * trees (ml/gbdt/packed: the same number as gbdt/model's predict, faster for one row), or on their
 * table of cells when the trees split on the two inputs only (every volume model trained here). */
import { fromJSON, toJSON, untransform, type ModelKind, type TreeModel } from './gbdt/model.js';
import { gridTrees, packTrees, predictGridRaw, predictPacked } from './gbdt/packed.js';

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
  const grid = gridTrees(packed);
  return {
    kind: model.kind,
    predict: grid === null
      ? (vma: number, acm: number): number => {
        row[0] = vma;
        row[1] = acm;
        const v = predictPacked(packed, row);
        return v > 0 ? v : 0;
      }
      : (vma: number, acm: number): number => {
        const v = untransform(packed, predictGridRaw(grid, packed, vma, acm, row));
        return v > 0 ? v : 0;
      },
    toJSON: () => toJSON(model),
  };
}

/** Loads model.json of a tree model (validated by fromJSON: SP_ERR_MODEL_FORMAT). */
export function treeScorer(json: unknown, where: string): TreeVolumeScorer {
  return scorerForTrees(fromJSON(json, where));
}
