/**
 * The fairness check: every classification metric computed separately for each value of a group
 * column (dialect, genre family, author sex, …), and the largest gap between two groups for each
 * metric. A model can look good on average and be much worse for one group; the gap shows it.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { classificationReport, type ClassificationReport } from './classification-metrics.ts';

/** The metrics a gap is reported for. */
export const FAIRNESS_METRICS = ['accuracy', 'macro_precision', 'macro_recall', 'macro_f1', 'weighted_f1'] as const;
export type FairnessMetric = (typeof FAIRNESS_METRICS)[number];

export interface MetricGap {
  metric: FairnessMetric;
  /** Largest value minus smallest value over the groups. */
  gap: number;
  best: { group: string; value: number };
  worst: { group: string; value: number };
}

export interface GroupReport {
  overall: ClassificationReport;
  groups: { group: string; report: ClassificationReport }[];
  gaps: MetricGap[];
}

export function metricValue(report: ClassificationReport, metric: FairnessMetric): number {
  switch (metric) {
    case 'accuracy': return report.accuracy;
    case 'macro_precision': return report.macro.precision;
    case 'macro_recall': return report.macro.recall;
    case 'macro_f1': return report.macro.f1;
    case 'weighted_f1': return report.weighted.f1;
  }
}

/**
 * Metrics per group and the largest gap between groups. Every group's report uses the same
 * label set (that of the whole data), so macro averages compare.
 *
 * @example groupReport(truth, predicted, ['us', 'uk', 'us']).gaps[0] // { metric: 'accuracy', gap: …, best, worst }
 */
export function groupReport(trueLabels: readonly string[], predictedLabels: readonly string[], groups: readonly string[], labels?: readonly string[]): GroupReport {
  if (groups.length !== trueLabels.length) throw new QkvValueError(`groupReport: ${groups.length} group values for ${trueLabels.length} examples`);
  const overall = classificationReport(trueLabels, predictedLabels, labels);
  const names = [...new Set(groups)].sort();
  const perGroup = names.map((group) => {
    const rows = groups.flatMap((g, i) => (g === group ? [i] : []));
    return { group, report: classificationReport(rows.map((i) => trueLabels[i]), rows.map((i) => predictedLabels[i]), overall.labels) };
  });
  const gaps = FAIRNESS_METRICS.map((metric): MetricGap => {
    const values = perGroup.map(({ group, report }) => ({ group, value: metricValue(report, metric) }));
    const best = values.reduce((a, b) => (b.value > a.value ? b : a));
    const worst = values.reduce((a, b) => (b.value < a.value ? b : a));
    return { metric, gap: best.value - worst.value, best, worst };
  });
  return { overall, groups: perGroup, gaps };
}
