export { createStatusSource, type StatusFrame, type StatusSource, type StatusSourceOptions } from "./status-source.js";
export { answerStatus, type MetricsRegistry, readFamilies, type StatusAnswer, statusResponse } from "./http.js";
export { renderStatusPage, statusPageCsp } from "./page.js";
export { inFamilies, type MetricSample, parseExposition, sumBy, sumValues, total } from "./exposition.js";
export { createRateTracker, type RateTracker } from "./rates.js";
export {
  type Bucket,
  bucketDelta,
  bucketQuantile,
  createWindowedHistogram,
  histogramBuckets,
  type WindowedHistogram,
} from "./quantile.js";
export {
  numberCard,
  numberColumn,
  problemCard,
  roundCell,
  secondsCard,
  tableSection,
  textColumn,
} from "./sections.js";
export { createSampleRing, type Sample, type SampleRing } from "./sample-ring.js";
export {
  type Card,
  type Cell,
  type ChartSpec,
  type Column,
  formatNumber,
  formatSeconds,
  type Section,
  type StatusDocument,
  type StatusView,
  type Tone,
  topEntries,
} from "./view.js";
