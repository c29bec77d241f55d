// What the cluster run asks Kafka itself: who leads which partition (to kill the broker carrying the most traffic),
// who the active controller is, whether any partition is under-replicated, and — after the run — how often each
// log of the ledger was written to the log topics (duplicates in Kafka, apart from OpenSearch's overwrite by id).
import { createRequire } from "node:module";
import { join } from "node:path";
import { kafkaMetadata, kafkaQuorum, type Metadata } from "../stack/test-wire.ts";
import { sleep } from "./say.ts";

export class ClusterKafka {
  /** Broker port of node id 1..3. */
  readonly portOf: (nodeId: number) => number;
  constructor(basePort: number) {
    this.portOf = (nodeId) => basePort + nodeId - 1;
  }

  /** Metadata from the first broker that answers (topics: all when undefined). */
  async metadata(topics?: string[]): Promise<Metadata | undefined> {
    for (const nodeId of [1, 2, 3]) {
      const found = await kafkaMetadata(this.portOf(nodeId), topics).catch(() => undefined);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * The broker leading the largest share of the traffic: the chaos traffic spreads evenly over the topics, and a
   * topic's share evenly over its partitions, so a partition of a topic with p partitions carries 1/(topics × p).
   */
  async busiestLeader(topics: string[]): Promise<{ nodeId: number; share: number; partitions: number } | undefined> {
    const metadata = await this.metadata(topics);
    if (!metadata) return undefined;
    const share = new Map<number, { share: number; partitions: number }>();
    for (const topic of metadata.topics) {
      for (const p of topic.partitions) {
        if (p.leader < 0) continue;
        const entry = share.get(p.leader) ?? { share: 0, partitions: 0 };
        entry.share += 1 / (topics.length * topic.partitions.length);
        entry.partitions++;
        share.set(p.leader, entry);
      }
    }
    const [best] = [...share.entries()].sort((a, b) => b[1].share - a[1].share);
    return best && { nodeId: best[0], ...best[1] };
  }

  /** The active KRaft controller (the metadata quorum's leader). */
  async controller(): Promise<number | undefined> {
    for (const nodeId of [1, 2, 3]) {
      const quorum = await kafkaQuorum(this.portOf(nodeId)).catch(() => undefined);
      if (quorum && quorum.error === 0 && quorum.leaderId > 0) return quorum.leaderId;
    }
    return undefined;
  }

  /** Partitions (of every topic) whose ISR is smaller than their replica set, as a live broker sees them. */
  async underReplicated(): Promise<number | undefined> {
    const metadata = await this.metadata();
    if (!metadata) return undefined;
    let count = 0;
    for (const topic of metadata.topics)
      for (const p of topic.partitions) if (p.leader < 0 || p.isr.length < p.replicas.length) count++;
    return count;
  }

  /** Waits (bounded) until no partition is under-replicated; the seconds it took, or undefined at the timeout. */
  async waitInSync(timeoutMs: number): Promise<number | undefined> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      if ((await this.underReplicated()) === 0) return Math.round((Date.now() - started) / 100) / 10;
      await sleep(500);
    }
    return undefined;
  }
}

interface BatchConsumerLike {
  connect(): Promise<void>;
  subscribe(topics: readonly string[]): Promise<void>;
  run(handler: { eachBatch(batch: { messages: { value: Buffer | null }[] }): Promise<void> }): Promise<void>;
  disconnect(): Promise<void>;
}

export interface KafkaCopies {
  records: number;
  /** Records naming no log of this run. */
  foreign: number;
  /** Extra copies (records beyond the first) of logs whose request was answered on its first attempt. */
  duplicatesOfSingleAttempts: number;
  /** Extra copies of logs whose request was retried: the client sent them again, the ids make OpenSearch dedupe. */
  duplicatesOfRetried: number;
  samples: number[];
}

/**
 * Reads every record of the log topics once (a fresh group, from the beginning) and counts the copies of each log
 * by the id inside its value. `expected` is the sum of the topics' high watermarks; `retried` the ledger's flags.
 */
export async function countKafkaCopies(options: {
  root: string;
  brokers: string[];
  topics: string[];
  run: string;
  expected: number;
  capacity: number;
  retried: Uint8Array;
  timeoutMs: number;
}): Promise<KafkaCopies> {
  const requireFromConsumer = createRequire(join(options.root, "apps/consumer/package.json"));
  const kafka = requireFromConsumer("@barito-flow/kafka") as {
    createBatchConsumer(o: {
      brokers: string[];
      clientId: string;
      groupId: string;
      fromBeginning?: boolean;
    }): BatchConsumerLike;
  };
  const consumer = kafka.createBatchConsumer({
    brokers: options.brokers,
    clientId: "chaos-copy-counter",
    groupId: `chaos-copy-counter-${Date.now()}`,
    fromBeginning: true,
  });
  const copies = new Uint8Array(options.capacity);
  // The value is a protobuf Timber: the id string lies in it as raw bytes; the run's name appears nowhere else.
  const marker = Buffer.from(`${options.run}-`);
  const result: KafkaCopies = {
    records: 0,
    foreign: 0,
    duplicatesOfSingleAttempts: 0,
    duplicatesOfRetried: 0,
    samples: [],
  };
  await consumer.connect();
  await consumer.subscribe(options.topics);
  await consumer.run({
    async eachBatch(batch) {
      for (const record of batch.messages) {
        result.records++;
        const value = record.value ?? Buffer.alloc(0);
        const at = value.indexOf(marker);
        let seq = -1;
        for (let i = at + marker.length; at >= 0 && i < value.length; i++) {
          const digit = (value[i] as number) - 48;
          if (digit < 0 || digit > 9) break;
          seq = (seq < 0 ? 0 : seq * 10) + digit;
        }
        if (seq < 0 || seq >= options.capacity) {
          result.foreign++;
          continue;
        }
        if (copies[seq] === 0) {
          copies[seq] = 1;
          continue;
        }
        if (options.retried[seq]) result.duplicatesOfRetried++;
        else {
          result.duplicatesOfSingleAttempts++;
          if (result.samples.length < 20) result.samples.push(seq);
        }
      }
    },
  });
  const deadline = Date.now() + options.timeoutMs;
  while (result.records < options.expected && Date.now() < deadline) await sleep(250);
  await consumer.disconnect().catch(() => undefined);
  return result;
}
