/**
 * Classification metrics from a confusion matrix: accuracy, and precision, recall and F1 per
 * class and averaged three ways, as scikit-learn's `classification_report` defines them:
 *
 *   precision_c = TP_c / (TP_c + FP_c),  recall_c = TP_c / (TP_c + FN_c),  F1_c = 2·P·R / (P + R)
 *   macro:    the unweighted mean over classes (every class counts the same, however rare)
 *   weighted: the mean weighted by each class's support (true count)
 *   micro:    from the summed TP, FP, FN; for single-label data all three equal accuracy
 *
 * A ratio with a zero denominator is 0 (scikit-learn's `zero_division=0`).
 */
import { QkvValueError } from '../tensor/errors.ts';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples whose true label is this class. */
  support: number;
}

export interface AveragedMetrics {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassificationReport {
  labels: string[];
  /** confusion[i][j]: examples of true class i predicted as j. */
  confusion: number[][];
  accuracy: number;
  perClass: ClassMetrics[];
  macro: AveragedMetrics;
  micro: AveragedMetrics;
  weighted: AveragedMetrics;
  /** Examples counted. */
  count: number;
}

/** confusion[i][j] = how many of true class i were predicted j; labels by index into `labels`. */
export function confusionMatrix(trueLabels: readonly string[], predictedLabels: readonly string[], labels: readonly string[]): number[][] {
  if (trueLabels.length !== predictedLabels.length) {
    throw new QkvValueError(`confusionMatrix: ${trueLabels.length} true labels but ${predictedLabels.length} predictions`);
  }
  const index = new Map(labels.map((label, i) => [label, i]));
  const matrix = labels.map(() => new Array<number>(labels.length).fill(0));
  for (let k = 0; k < trueLabels.length; k++) {
    const i = index.get(trueLabels[k]);
    const j = index.get(predictedLabels[k]);
    if (i === undefined) throw new QkvValueError(`confusionMatrix: true label ${JSON.stringify(trueLabels[k])} (example ${k}) is not one of ${JSON.stringify(labels)}`);
    if (j === undefined) throw new QkvValueError(`confusionMatrix: predicted label ${JSON.stringify(predictedLabels[k])} (example ${k}) is not one of ${JSON.stringify(labels)}`);
    matrix[i][j]++;
  }
  return matrix;
}

const ratio = (numerator: number, denominator: number): number => (denominator === 0 ? 0 : numerator / denominator);
const f1Of = (precision: number, recall: number): number => ratio(2 * precision * recall, precision + recall);

/** Every metric from a confusion matrix. */
export function reportFromConfusion(confusion: number[][], labels: readonly string[]): ClassificationReport {
  const L = labels.length;
  if (confusion.length !== L || confusion.some((row) => row.length !== L)) throw new QkvValueError(`reportFromConfusion: confusion must be ${L}×${L} for ${L} labels`);
  let count = 0;
  let correct = 0;
  const perClass: ClassMetrics[] = labels.map((label, c) => {
    let predicted = 0;
    let support = 0;
    for (let k = 0; k < L; k++) {
      predicted += confusion[k][c];
      support += confusion[c][k];
    }
    count += support;
    correct += confusion[c][c];
    const precision = ratio(confusion[c][c], predicted);
    const recall = ratio(confusion[c][c], support);
    return { label, precision, recall, f1: f1Of(precision, recall), support };
  });
  const mean = (pick: (m: ClassMetrics) => number, weight: (m: ClassMetrics) => number): number => {
    const total = perClass.reduce((sum, m) => sum + weight(m), 0);
    return ratio(perClass.reduce((sum, m) => sum + pick(m) * weight(m), 0), total);
  };
  const averaged = (weight: (m: ClassMetrics) => number): AveragedMetrics => ({
    precision: mean((m) => m.precision, weight),
    recall: mean((m) => m.recall, weight),
    f1: mean((m) => m.f1, weight),
  });
  // Micro: summed TP over summed TP+FP (every prediction) and TP+FN (every example): both are `count`.
  const microValue = ratio(correct, count);
  return {
    labels: [...labels],
    confusion: confusion.map((row) => [...row]),
    accuracy: ratio(correct, count),
    perClass,
    macro: averaged(() => 1),
    micro: { precision: microValue, recall: microValue, f1: f1Of(microValue, microValue) },
    weighted: averaged((m) => m.support),
    count,
  };
}

/**
 * The full report for predictions against the truth. `labels` fixes the class order (default:
 * the sorted union of both lists).
 *
 * @example classificationReport(['a', 'a', 'b'], ['a', 'b', 'b']).macro.f1 // 0.6667
 */
export function classificationReport(trueLabels: readonly string[], predictedLabels: readonly string[], labels?: readonly string[]): ClassificationReport {
  const classes = labels ?? [...new Set([...trueLabels, ...predictedLabels])].sort();
  return reportFromConfusion(confusionMatrix(trueLabels, predictedLabels, classes), classes);
}
