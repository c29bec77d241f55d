// What the oracle reads back: consumer lag (committed offsets vs high watermarks), every document of the chaos
// indices (scroll), and the dead-letter topic.
import { createRequire } from "node:module";
import { join } from "node:path";

interface KafkaAdminLike {
  connect(): Promise<void>;
  listTopics(): Promise<string[]>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; low: string; high: string }[]>;
  fetchCommittedOffsets(
    groupId: string,
    topics?: readonly string[],
  ): Promise<{ topic: string; partition: number; offset: string }[]>;
  close(): Promise<void>;
}

interface IncomingRecordLike {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
  headers: Record<string, Buffer | string>;
}

interface BatchConsumerLike {
  connect(): Promise<void>;
  subscribe(topics: readonly (string | RegExp)[]): Promise<void>;
  run(handler: { eachBatch(batch: { messages: IncomingRecordLike[] }): Promise<void> }): Promise<void>;
  disconnect(): Promise<void>;
}

function kafkaModule(root: string) {
  const requireFromConsumer = createRequire(join(root, "apps/consumer/package.json"));
  return requireFromConsumer("@barito-flow/kafka") as {
    createKafkaAdmin(options: { brokers: string[]; clientId: string }): KafkaAdminLike;
    createBatchConsumer(options: {
      brokers: string[];
      clientId: string;
      groupId: string;
      fromBeginning?: boolean;
    }): BatchConsumerLike;
  };
}

export class KafkaProbe {
  private readonly admin: KafkaAdminLike;
  private readonly root: string;
  private readonly brokers: string;
  private connected = false;
  constructor(root: string, brokers: string) {
    this.root = root;
    this.brokers = brokers;
    this.admin = kafkaModule(root).createKafkaAdmin({ brokers: brokers.split(","), clientId: "chaos-oracle" });
  }

  private async ensure(): Promise<void> {
    if (!this.connected) {
      await this.admin.connect();
      this.connected = true;
    }
  }

  /** Records not yet committed by the group, per topic (undefined when Kafka does not answer). */
  async lag(groupId: string, topics: string[]): Promise<{ total: number; records: number } | undefined> {
    try {
      await this.ensure();
      const existing = new Set(await this.admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      const committed = await this.admin.fetchCommittedOffsets(groupId, present);
      let total = 0;
      let records = 0;
      for (const topic of present) {
        for (const p of await this.admin.fetchTopicOffsets(topic)) {
          const c = committed.find((x) => x.topic === topic && x.partition === p.partition);
          const high = Number(p.high);
          const low = Number(p.low);
          records += high - low;
          const at = c && Number(c.offset) >= 0 ? Number(c.offset) : low;
          total += Math.max(0, high - at);
        }
      }
      return { total, records };
    } catch {
      return undefined;
    }
  }

  /** Number of records in a topic (0 when it does not exist). */
  async topicRecords(topic: string): Promise<number> {
    await this.ensure();
    if (!(await this.admin.listTopics()).includes(topic)) return 0;
    let n = 0;
    for (const p of await this.admin.fetchTopicOffsets(topic)) n += Number(p.high) - Number(p.low);
    return n;
  }

  /** Up to `max` records of the dead-letter topic with their barito-dlq-* headers. */
  async readDlq(topic: string, expected: number, max: number): Promise<Record<string, string>[]> {
    if (expected === 0) return [];
    const consumer = kafkaModule(this.root).createBatchConsumer({
      brokers: this.brokers.split(","),
      clientId: "chaos-dlq-reader",
      groupId: `chaos-dlq-reader-${Date.now()}`,
      fromBeginning: true,
    });
    const found: Record<string, string>[] = [];
    let seen = 0;
    await consumer.connect();
    await consumer.subscribe([topic]);
    await consumer.run({
      async eachBatch(batch) {
        for (const record of batch.messages) {
          seen++;
          if (found.length >= max) continue;
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(record.headers)) headers[k] = String(v);
          headers.value = (record.value ?? Buffer.alloc(0)).toString("utf8").slice(0, 300);
          found.push(headers);
        }
      },
    });
    const deadline = Date.now() + 20_000;
    while (seen < Math.min(expected, max) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await consumer.disconnect().catch(() => undefined);
    return found;
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.close().catch(() => undefined);
  }
}

/** Documents in the indices matching `pattern`; undefined when OpenSearch does not answer. */
export async function countDocs(opensearch: string, pattern: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${opensearch}/${pattern}/_count`, { signal: AbortSignal.timeout(3_000) });
    if (!res.ok) return undefined;
    return ((await res.json()) as { count: number }).count;
  } catch {
    return undefined;
  }
}

export async function refresh(opensearch: string, pattern: string): Promise<void> {
  await fetch(`${opensearch}/${pattern}/_refresh`, { method: "POST", signal: AbortSignal.timeout(30_000) }).catch(
    () => undefined,
  );
}

export interface Hit {
  _index: string;
  _id: string;
  _source: Record<string, unknown>;
}

/** Every document of the indices matching `pattern`, through the scroll API. */
export async function scanAll(opensearch: string, pattern: string, onHit: (hit: Hit) => void): Promise<number> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${opensearch}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as { _scroll_id: string; hits: { hits: Hit[] } };
  };
  let page = await post(`/${pattern}/_search?scroll=2m`, { size: 5_000, sort: ["_doc"] });
  let total = 0;
  const scrollIds = new Set<string>();
  while (page.hits.hits.length > 0) {
    for (const hit of page.hits.hits) onHit(hit);
    total += page.hits.hits.length;
    scrollIds.add(page._scroll_id);
    page = await post("/_search/scroll", { scroll: "2m", scroll_id: page._scroll_id });
  }
  scrollIds.add(page._scroll_id);
  await fetch(`${opensearch}/_search/scroll`, {
    method: "DELETE",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ scroll_id: [...scrollIds] }),
  }).catch(() => undefined);
  return total;
}

/** Names of every non-system index. */
export async function listIndices(opensearch: string): Promise<{ index: string; docs: number }[]> {
  const res = await fetch(`${opensearch}/_cat/indices?format=json&h=index,docs.count`);
  const rows = (await res.json()) as { index: string; "docs.count": string }[];
  return rows
    .filter((r) => !r.index.startsWith("."))
    .map((r) => ({ index: r.index, docs: Number(r["docs.count"]) }))
    .sort((a, b) => a.index.localeCompare(b.index));
}
