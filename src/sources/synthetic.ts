/** @module sources/synthetic
 * The default source: a seeded generator that writes the Kaggle stock-market-dataset layout
 * (stocks/, etfs/, symbols_valid_meta.csv) with the real data's quirks (docs/data.md). This file is
 * its public face; the work is split by concern under sources/synthetic/: options, plan, quirks,
 * price-model, volume-model, calendar, bytes, float32, price-cache, csv, metadata, generate and
 * source (the Source adapter). */
export { PRICE_HEADER } from './synthetic/csv.js';
export { writeFloat32 } from './synthetic/float32.js';
export { generateSynthetic, type SyntheticResult } from './synthetic/generate.js';
export { META_HEADER } from './synthetic/metadata.js';
export {
  SYNTHETIC_BENCH,
  SYNTHETIC_DEFAULTS,
  SYNTHETIC_GENERATOR_VERSION,
  estimateSyntheticRows,
  resolveSyntheticOptions,
  syntheticDayCount,
  syntheticSourceVersion,
  syntheticSpec,
  type SyntheticOptions,
} from './synthetic/options.js';
export { QUIRKS, type Quirk } from './synthetic/quirks.js';
export { syntheticSource } from './synthetic/source.js';
