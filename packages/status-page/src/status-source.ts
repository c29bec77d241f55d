import { createSampleRing, type Sample } from "./sample-ring.js";
import type { Section, StatusDocument, StatusView } from "./view.js";

/** What a collector returns on each tick: the values to chart (one sample) and the view to show. */
export interface StatusFrame extends StatusView {
  values: Record<string, number>;
}

export interface StatusSourceOptions {
  title: string;
  /** Reads the metrics and builds the frame; may throw or reject, the page then keeps its last good view. */
  collect(nowMs: number): StatusFrame | Promise<StatusFrame>;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** How much history the ring keeps. Default 15 minutes; the ring holds `windowMs / intervalMs` samples. */
  windowMs?: number;
  /** Values kept per sample; further ones are dropped (memory bound). Default 64. */
  maxSeriesPerSample?: number;
  /** Rows kept per table; further ones are counted in `omitted`. Default 200. */
  maxRowsPerTable?: number;
  clock?: () => number;
}

export interface StatusSource {
  /** Samples every `intervalMs` until `stop` (the timer does not keep the process alive). */
  start(): void;
  stop(): void;
  /** One sample now; never rejects. Ticks do not overlap: a tick while one is running is skipped. */
  tick(): Promise<void>;
  /** The `/status.json` body: the samples after `sinceT` (all of them without it). */
  document(sinceT?: number): StatusDocument;
}

/**
 * Samples an app's metrics into a bounded ring and keeps the latest view. Memory: at most
 * `windowMs / intervalMs` samples (900 by default) of at most `maxSeriesPerSample` numbers each, plus one view of
 * at most `maxRowsPerTable` rows per table: a few megabytes at the defaults, whatever the number of labels.
 */
export function createStatusSource(options: StatusSourceOptions): StatusSource {
  const intervalMs = options.intervalMs ?? 1000;
  const windowMs = options.windowMs ?? 15 * 60_000;
  const maxSeries = options.maxSeriesPerSample ?? 64;
  const maxRows = options.maxRowsPerTable ?? 200;
  const clock = options.clock ?? Date.now;
  const ring = createSampleRing(Math.max(1, Math.ceil(windowMs / intervalMs)));
  let view: StatusView = { charts: [], sections: [] };
  let generatedAt = 0;
  let error: string | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<void> | undefined;

  async function collectOnce(): Promise<void> {
    const now = clock();
    try {
      const frame = await options.collect(now);
      const values: Record<string, number> = {};
      let kept = 0;
      for (const [name, value] of Object.entries(frame.values)) {
        if (kept >= maxSeries) break;
        if (typeof value !== "number" || !Number.isFinite(value)) continue;
        values[name] = value;
        kept++;
      }
      ring.push({ t: now, v: values });
      view = {
        charts: frame.charts.map((chart) => ({
          ...chart,
          series: chart.series.filter((name) => name in values),
          ...(chart.detail ? { detail: chart.detail.filter((name) => name in values) } : {}),
        })),
        sections: frame.sections.map((section) => capRows(section, maxRows)),
      };
      error = undefined;
    } catch (err) {
      // A gap in the chart rather than a made-up point; the page says why.
      ring.push({ t: now, v: {} });
      error = err instanceof Error ? err.message : String(err);
    }
    generatedAt = now;
  }

  const source: StatusSource = {
    start() {
      if (timer) return;
      void source.tick();
      timer = setInterval(() => void source.tick(), intervalMs);
      timer.unref?.();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    tick() {
      running ??= collectOnce().finally(() => {
        running = undefined;
      });
      return running;
    },
    document(sinceT) {
      const samples: Sample[] = ring.since(sinceT !== undefined && Number.isFinite(sinceT) ? sinceT : undefined);
      return {
        title: options.title,
        generatedAt,
        intervalMs,
        windowMs,
        charts: view.charts,
        sections: view.sections,
        samples,
        ...(error === undefined ? {} : { error }),
      };
    },
  };
  return source;
}

function capRows(section: Section, maxRows: number): Section {
  if (section.kind !== "table" || section.rows.length <= maxRows) return section;
  return {
    ...section,
    rows: section.rows.slice(0, maxRows),
    omitted: (section.omitted ?? 0) + section.rows.length - maxRows,
  };
}
