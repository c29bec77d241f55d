// The run's monitor: every second the consumers' indexed-events counters (summed across restarts), every five
// seconds the documents in OpenSearch and a throughput sample with a progress line.
import { type AppProcess, scrapeMetricSum } from "./apps.ts";
import type { Sample } from "./report.ts";
import { fmt, say, since, sleep } from "./say.ts";
import type { Traffic } from "./traffic.ts";
import { countDocs } from "./verify.ts";

export interface MonitorOptions {
  /** Each consumer with its metrics port. */
  consumers: (readonly [AppProcess, number])[];
  opensearch: string;
  traffic: Traffic;
  logs: number;
  /** The fault in progress, shown in the samples and the progress lines ("" when none). */
  activeFault(): string;
}

export class Monitor {
  readonly samples: Sample[] = [];
  private readonly timeline: { at: number; events: number; acked: number }[] = [];
  private indexedEvents = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(options: MonitorOptions) {
    this.loop = this.run(options);
  }

  private async run({ consumers, opensearch, traffic, logs, activeFault }: MonitorOptions): Promise<void> {
    const lastScrape = new Map<string, number>();
    let tick = 0;
    let prev = { at: Date.now(), acked: 0, events: 0 };
    while (!this.stopped) {
      await sleep(1_000);
      tick++;
      for (const [app, port] of consumers) {
        if (!app.running) continue;
        const value = await scrapeMetricSum(
          `http://127.0.0.1:${port}/metrics`,
          "barito_consumer_log_stored_total",
          'result="indexed"',
        );
        if (value === undefined) continue;
        const key = `${app.name}#${app.starts}`;
        const last = lastScrape.get(key) ?? 0;
        this.indexedEvents += Math.max(0, value - last);
        lastScrape.set(key, value);
      }
      this.timeline.push({ at: Date.now(), events: this.indexedEvents, acked: traffic.stats.acked });
      if (tick % 5 !== 0) continue;
      const docs = await countDocs(opensearch, "chaos-*");
      const now = Date.now();
      const secs = (now - prev.at) / 1000;
      const fault = activeFault();
      const sample: Sample = {
        t: since(now),
        acked: traffic.stats.acked,
        ackedPerSec: Math.round((traffic.stats.acked - prev.acked) / secs),
        indexedEvents: this.indexedEvents,
        indexedPerSec: Math.round((this.indexedEvents - prev.events) / secs),
        docs,
        errors: traffic.stats.errors,
        fault,
      };
      this.samples.push(sample);
      prev = { at: now, acked: traffic.stats.acked, events: this.indexedEvents };
      say(
        `sent ${fmt(traffic.progress)}/${fmt(logs)} acked ${fmt(sample.acked)} (${fmt(sample.ackedPerSec)}/s) indexed ${fmt(this.indexedEvents)} (${fmt(sample.indexedPerSec)}/s) docs ${docs === undefined ? "?" : fmt(docs)} errors ${traffic.stats.errors} retries ${traffic.stats.retries}${fault ? ` [${fault}]` : ""}`,
      );
    }
  }

  /** When a consumer first indexed something after `at` (bounded by `timeoutMs`), or undefined. */
  async indexingResumedAfter(at: number, timeoutMs: number): Promise<number | undefined> {
    const base = this.timeline.findLast((p) => p.at <= at)?.events ?? 0;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = this.timeline.find((p) => p.at > at && p.events > base);
      if (hit) return hit.at;
      await sleep(250);
    }
    return undefined;
  }

  /** Indexed events counted so far (redeliveries included). */
  get indexed(): number {
    return this.indexedEvents;
  }

  /**
   * Milliseconds of the longest span within [from, to] in which the indexed-events count did not grow although
   * acknowledged logs were waiting to be indexed (a span with nothing to index is no stall).
   */
  longestStall(from: number, to: number): number {
    let longest = 0;
    let lastProgress = from;
    let lastEvents = this.timeline.findLast((p) => p.at <= from)?.events ?? 0;
    for (const point of this.timeline) {
      if (point.at <= from) continue;
      if (point.at > to) break;
      // Redeliveries count as events, so `events < acked` is a lower bound of the backlog: a stall is never invented.
      if (point.events > lastEvents || point.events >= point.acked) lastProgress = point.at;
      else longest = Math.max(longest, point.at - lastProgress);
      lastEvents = Math.max(lastEvents, point.events);
    }
    return longest;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
