/** @module ml/forecast-loss
 * The day-ahead model's volume booster's default loss (docs/models.md), shared by training
 * (ml/forecast-train) and a forecast study's trial 0 (ml/tune/space). No imports: both read it. */

/** Huber on the log residual, δ 0.2, at learning rate 0.3 (Huber's clipped gradients step slowly:
 * 0.3 reaches the validation skill of 0.1 in a third of the trees), chosen on the validation window.
 * Used when neither `--objective` nor a study says; the Adj Close booster is always l2. */
export const FORECAST_VOLUME_LOSS = Object.freeze({ objective: 'huber', huber_delta: 0.2, learning_rate: 0.3 } as const);
