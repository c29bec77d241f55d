export { createStatusSource, type StatusFrame, type StatusSource, type StatusSourceOptions } from "./status-source.js";
export { answerStatus, readFamilies, type StatusAnswer, statusResponse } from "./http.js";
export { renderStatusPage, statusPageCsp } from "./page.js";
export { type MetricSample, parseExposition, sumBy, total } from "./exposition.js";
export { createRateTracker, type RateTracker } from "./rates.js";
export {
  type Bucket,
  bucketDelta,
  bucketQuantile,
  createWindowedHistogram,
  histogramBuckets,
  type WindowedHistogram,
} from "./quantile.js";
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
