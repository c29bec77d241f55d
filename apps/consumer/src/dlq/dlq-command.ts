// `barito-flow dlq stats|show|replay`: the dead-letter topic read with the consumer's own adapters (the Kafka
// clients, the sink, the redaction rules) and its own document building and dead-letter writer.
import { createHash, randomUUID } from "node:crypto";
import { type IncomingBatch, isKafkaError, type KafkaAdmin } from "@barito-flow/kafka";
import type { Logger } from "@barito-flow/logger";
import type { ConsumerAdapters } from "../app.js";
import type { ConsumerConfig } from "../config.js";
import { createConsumerMetrics } from "../metrics.js";
import { createDeadLetterWriter } from "../pipeline/dead-letter.js";
import { createDailyIndexer } from "../pipeline/documents.js";
import { parseDeadLetter } from "./dead-letter-record.js";
import { type DlqOptions, matchesFilter } from "./options.js";
import { type ReadResult, readToEnd } from "./read-to-end.js";
import { createReplayer, type ReplaySummary } from "./replay.js";
import { deadLetterJson, formatDeadLetter, formatForeign } from "./show.js";
import { createStatsCollector, formatStats } from "./stats.js";

export interface DlqCommandDependencies {
  config: ConsumerConfig;
  logger: Logger;
  adapters: ConsumerAdapters & { admin: Pick<KafkaAdmin, "fetchTopicOffsets" | "fetchCommittedOffsets"> };
  /** Where results go (stdout); logs and progress go to the logger. */
  out(text: string): void;
}

export interface RunningDlqCommand {
  /** The exit code: 0 when the end of the topic was reached, 1 otherwise (interrupted, idle, failed). */
  done: Promise<number>;
  /** Ends early (a signal): the batch at hand is finished and committed first. */
  stop(): void;
}

/** `replay`'s group unless `--group`: one per selection, so the same command run again resumes where it stopped. */
export function replayGroupId(config: ConsumerConfig, options: DlqOptions): string {
  const hash = createHash("sha256").update(options.filterKey).digest("hex").slice(0, 10);
  return options.group ?? `${config.consumer.groupId}-dlq-replay-${hash}`;
}

export function startDlqCommand(options: DlqOptions, deps: DlqCommandDependencies): RunningDlqCommand {
  const { config, logger, adapters, out } = deps;
  const topic = config.consumer.dlqTopic;
  const replaying = options.command === "replay" && !options.dryRun;
  const group = replayGroupId(config, options);
  const read = (onBatch: (batch: IncomingBatch) => Promise<boolean | undefined>, startFromGroup?: string) =>
    readToEnd({
      topic,
      // Reading is not consuming: stats, show and a dry run join a group of their own that never commits.
      groupId: replaying ? group : `${config.consumer.groupId}-dlq-${options.command}-${randomUUID().slice(0, 8)}`,
      createConsumer: (consumerOptions) =>
        adapters.createConsumer({ ...consumerOptions, sessionTimeoutMs: config.consumer.sessionTimeoutMs }),
      admin: adapters.admin,
      ...(startFromGroup ? { startFromGroup } : {}),
      commit: replaying,
      onBatch,
      idleTimeoutMs: options.idleTimeoutMs,
      logger,
    });
  let reader: ReturnType<typeof readToEnd> | undefined;
  let stopRequested = false;

  async function stats(): Promise<ReadResult> {
    const collector = createStatsCollector();
    reader = read(async (batch) => {
      for (const record of batch.messages) {
        const deadLetter = parseDeadLetter(record);
        if (!deadLetter) collector.addForeign();
        else if (matchesFilter(deadLetter, options.filter)) collector.add(deadLetter);
      }
      return undefined;
    });
    const result = await reader.done;
    const counts = collector.result();
    out(options.json ? JSON.stringify({ topic, ...counts, complete: result.reachedEnd }) : formatStats(counts, topic));
    return result;
  }

  async function show(): Promise<ReadResult> {
    let shown = 0;
    reader = read(async (batch) => {
      for (const record of batch.messages) {
        const deadLetter = parseDeadLetter(record);
        if (deadLetter && !matchesFilter(deadLetter, options.filter)) continue;
        if (options.json)
          out(
            JSON.stringify(
              deadLetter
                ? deadLetterJson(deadLetter, record)
                : { dlqPartition: record.partition, dlqOffset: record.offset, notDeadLetter: true },
            ),
          );
        else out(`${deadLetter ? formatDeadLetter(deadLetter, record) : formatForeign(record)}\n`);
        if (++shown >= options.limit) return true;
      }
      return undefined;
    });
    const result = await reader.done;
    // Stopping at --limit is the end asked for.
    return shown >= options.limit ? { ...result, reachedEnd: true } : result;
  }

  async function replay(): Promise<ReadResult> {
    const redaction = adapters.redaction;
    await redaction?.rules.start();
    const redact = redaction && redaction.rules.kind !== "none" ? redaction.redact : undefined;
    const metrics = adapters.metrics ?? createConsumerMetrics();
    if (replaying) await adapters.deadLetters.connect();
    const replayer = createReplayer({
      filter: options.filter,
      indexMethod: config.opensearch.indexMethod,
      indexFor: createDailyIndexer(config.opensearch.indexDate === "processing", () => new Date()),
      ...(redact ? { redact } : {}),
      ...(adapters.ensureDataStream ? { ensureDataStream: adapters.ensureDataStream } : {}),
      logger,
      ...(replaying
        ? {
            sink: adapters.sink,
            deadLetters: createDeadLetterWriter({
              publisher: adapters.deadLetters,
              topic,
              metrics,
              logger,
              isStopping: () => stopRequested,
            }),
          }
        : { print: (line: Record<string, unknown>) => out(JSON.stringify({ dryRun: true, ...line })) }),
    });
    logger.info(options.dryRun ? "replay dry run: nothing is indexed, written or committed" : "replaying", {
      topic,
      group,
      filter: options.filter,
    });
    // A dry run starts where the replay would: after what the replay's group has already done.
    reader = read((batch) => replayer.replayBatch(batch).then(() => undefined), group);
    const progress = setInterval(() => {
      logger.info("replay progress", { ...replayer.summary(), remaining: reader?.remaining() });
    }, options.progressIntervalMs);
    let result: ReadResult;
    try {
      result = await reader.done;
    } finally {
      clearInterval(progress);
      redaction?.rules.stop();
    }
    const summary: ReplaySummary & { complete: boolean; group: string; dryRun: boolean } = {
      ...replayer.summary(),
      complete: result.reachedEnd,
      group,
      dryRun: options.dryRun,
    };
    logger.info("replay finished", { ...summary, remaining: result.remaining });
    out(options.json ? JSON.stringify({ summary }) : formatReplaySummary(summary, result));
    return result;
  }

  const done = (async () => {
    try {
      const run = options.command === "stats" ? stats : options.command === "show" ? show : replay;
      await adapters.admin.connect();
      const result = await run();
      return result.reachedEnd ? 0 : 1;
    } catch (err) {
      if (isKafkaError(err) && err.code === "TOPIC_NOT_FOUND")
        logger.error("the dead-letter topic does not exist (BARITO_CONSUMER_DLQ_TOPIC)", { topic });
      else logger.error(`dlq ${options.command} failed`, { err });
      return 1;
    } finally {
      await adapters.sink.close({ timeoutMs: 5_000 }).catch(() => undefined);
      await Promise.allSettled([adapters.deadLetters.close(), adapters.admin.close(), adapters.releaseClients?.()]);
    }
  })();
  return {
    done,
    stop() {
      stopRequested = true;
      reader?.stop();
    },
  };
}

function formatReplaySummary(
  summary: ReplaySummary & { complete: boolean; group: string; dryRun: boolean },
  result: ReadResult,
): string {
  const verb = summary.dryRun ? "would be indexed" : "indexed";
  const lines = [
    `${summary.dryRun ? "replay dry run" : "replay"} (group ${summary.group}): ${summary.read} dead letters read${summary.complete ? ", end reached" : `, ${result.remaining} left before the end`}`,
    `  ${verb}: ${summary.indexed} (${summary.documentsIndexed} documents)`,
    `  failed again${summary.dryRun ? "" : ", written back"}: ${summary.failed}`,
    ...Object.entries(summary.failedByErrorType).map(([type, count]) => `    ${String(count).padStart(6)}  ${type}`),
    `  left out by the filters: ${summary.skipped}`,
  ];
  if (summary.notDeadLetters > 0) lines.push(`  not barito dead letters (left as they are): ${summary.notDeadLetters}`);
  return lines.join("\n");
}
