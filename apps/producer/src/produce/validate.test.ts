import { create } from "@bufbuild/protobuf";
import { TimberCollectionSchema, TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import { ProduceError } from "./produce-error.js";
import { type ValidationLimits, validateCollection, validateTimber } from "./validate.js";

const limits: ValidationLimits = { topicPrefix: "", topicSuffix: "_logs", maxBatchItems: 10, maxTopicPartitions: 50 };

function violations(context: Record<string, unknown>, extra: Partial<ValidationLimits> = {}) {
  const timber = create(TimberSchema, {
    context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 10, ...context },
    content: { message: "x" },
  });
  try {
    validateTimber(timber, { ...limits, ...extra });
    return [];
  } catch (err) {
    if (!(err instanceof ProduceError)) throw err;
    expect(err.code).toBe("INVALID_ARGUMENT");
    return err.details.map(({ field, reason }) => `${field}: ${reason}`);
  }
}

describe("validateTimber() context limits", () => {
  it("takes partitions up to BARITO_PRODUCER_MAX_TOPIC_PARTITIONS and refuses more, naming the limit", () => {
    expect(violations({ kafkaPartition: 50 })).toEqual([]);
    expect(violations({ kafkaPartition: 51 })).toEqual([
      "context.kafka_partition: must be between 0 (broker default) and 50, BARITO_PRODUCER_MAX_TOPIC_PARTITIONS; got 51",
    ]);
    expect(violations({ kafkaPartition: -1 })).toHaveLength(1);
  });

  it("caps the replication factor at the cluster's broker count once it is known", () => {
    expect(violations({ kafkaReplicationFactor: 7 })).toEqual([]); // unknown: only the int16 bound
    expect(violations({ kafkaReplicationFactor: 32_768 })).toHaveLength(1);
    const threeBrokers = { brokerCount: () => 3 };
    expect(violations({ kafkaReplicationFactor: 3 }, threeBrokers)).toEqual([]);
    expect(violations({ kafkaReplicationFactor: 7 }, threeBrokers)).toEqual([
      "context.kafka_replication_factor: must be between 0 (broker default) and 3, the number of brokers in the Kafka cluster (3); got 7",
    ]);
  });

  it("does not check partitions and replication when BARITO_PRODUCER_IGNORE_KAFKA_OPTIONS ignores them", () => {
    expect(
      violations(
        { kafkaPartition: 99_999_999, kafkaReplicationFactor: 7 },
        { ignoreKafkaOptions: true, brokerCount: () => 1 },
      ),
    ).toEqual([]);
  });

  it("applies the TPS range of the window in use", () => {
    expect(violations({ appMaxTps: 0 })).toEqual([
      "context.app_max_tps: must be between 1 and 2147483647 (or set disable_app_tps with app_group_max_tps); got 0",
    ]);
    expect(violations({ appMaxTps: 0, disableAppTps: true, appGroupMaxTps: 5 })).toEqual([]);
    expect(violations({ disableAppTps: true, appGroupMaxTps: 0 })).toEqual([
      "context.app_group_max_tps: must be between 1 and 2147483647 when disable_app_tps is true; got 0",
    ]);
  });
});

describe("validateTimber() names and content", () => {
  it("refuses a missing context, naming what it is for, and a missing content", () => {
    const error = (() => {
      try {
        validateTimber(create(TimberSchema, {}), limits);
      } catch (err) {
        return err as ProduceError;
      }
      throw new Error("validateTimber accepted a Timber without context and content");
    })();
    expect(error.details).toEqual([
      { field: "context", reason: "required: the context names the app's topic, index and limits" },
      { field: "content", reason: "required: a JSON object" },
    ]);
  });

  it("returns the context it checked", () => {
    const timber = create(TimberSchema, {
      context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 10 },
      content: { message: "x" },
    });
    expect(validateTimber(timber, limits)).toBe(timber.context);
  });

  it("applies Kafka's topic rules to the full topic name (prefix + name + suffix)", () => {
    expect(violations({ kafkaTopic: "" })).toEqual(["context.kafka_topic: required"]);
    expect(violations({ kafkaTopic: "a b" })).toEqual([
      `context.kafka_topic: topic "a b_logs" may contain only letters, digits, '.', '_' and '-'`,
    ]);
    // 244 + "_logs" = 249 characters: the longest name Kafka takes; one more is refused.
    expect(violations({ kafkaTopic: "t".repeat(244) })).toEqual([]);
    expect(violations({ kafkaTopic: "t".repeat(245) })).toEqual([
      "context.kafka_topic: topic name longer than 249 characters",
    ]);
    const bare = { topicPrefix: "", topicSuffix: "" };
    expect(violations({ kafkaTopic: "." }, bare)).toEqual(['context.kafka_topic: topic name cannot be "."']);
    expect(violations({ kafkaTopic: ".." }, bare)).toEqual(['context.kafka_topic: topic name cannot be ".."']);
    expect(violations({ kafkaTopic: "..." }, bare)).toEqual([]);
    expect(violations({ kafkaTopic: "a.b-c_D9" }, { topicPrefix: "p.", topicSuffix: "" })).toEqual([]);
    // The prefix counts: a valid name behind an invalid prefix is refused, quoted in full (up to 80 characters).
    expect(violations({ kafkaTopic: "shop" }, { topicPrefix: "bad prefix/" })).toEqual([
      `context.kafka_topic: topic "bad prefix/shop_logs" may contain only letters, digits, '.', '_' and '-'`,
    ]);
    const quoted = `${"y".repeat(90)} z`;
    expect(violations({ kafkaTopic: quoted }, bare)).toEqual([
      `context.kafka_topic: topic "${"y".repeat(77)}..." may contain only letters, digits, '.', '_' and '-'`,
    ]);
    const exactly80 = `${"y".repeat(79)} `;
    expect(violations({ kafkaTopic: exactly80 }, bare)).toEqual([
      `context.kafka_topic: topic "${exactly80}" may contain only letters, digits, '.', '_' and '-'`,
    ]);
  });

  it("applies OpenSearch's index name rules to the prefix, leaving room for the daily suffix", () => {
    expect(violations({ esIndexPrefix: "" })).toEqual(["context.es_index_prefix: required"]);
    expect(violations({ esIndexPrefix: "Shop" })).toEqual(["context.es_index_prefix: index names must be lowercase"]);
    for (const character of ["\\", "/", "*", "?", '"', "<", ">", "|", " ", ",", "#", ":"]) {
      expect(violations({ esIndexPrefix: `a${character}b` })).toEqual([
        'context.es_index_prefix: must not contain \\ / * ? " < > | space , # or :',
      ]);
    }
    for (const prefix of ["-a", "_a", "+a", ".", ".."]) {
      expect(violations({ esIndexPrefix: prefix })).toEqual([
        "context.es_index_prefix: must not start with '-', '_' or '+', nor be '.' or '..'",
      ]);
    }
    for (const prefix of ["a-", "a_b+c", "...", ".a", "é"]) expect(violations({ esIndexPrefix: prefix })).toEqual([]);
    // 255 bytes in all, 11 of them "-YYYY.MM.DD": 244 bytes of prefix, counted in UTF-8.
    expect(violations({ esIndexPrefix: "i".repeat(244) })).toEqual([]);
    const tooLong = "context.es_index_prefix: longer than 244 bytes (index names are limited to 255)";
    expect(violations({ esIndexPrefix: "i".repeat(245) })).toEqual([tooLong]);
    expect(violations({ esIndexPrefix: "é".repeat(123) })).toEqual([tooLong]);
    expect(violations({ esIndexPrefix: "é".repeat(122) })).toEqual([]);
  });

  it("lists every violated rule at once, the partition bound inclusive at both ends", () => {
    expect(violations({ kafkaTopic: "", esIndexPrefix: "", appMaxTps: 0, kafkaPartition: -1 })).toEqual([
      "context.kafka_topic: required",
      "context.es_index_prefix: required",
      "context.kafka_partition: must be between 0 (broker default) and 50, BARITO_PRODUCER_MAX_TOPIC_PARTITIONS; got -1",
      "context.app_max_tps: must be between 1 and 2147483647 (or set disable_app_tps with app_group_max_tps); got 0",
    ]);
    expect(violations({ kafkaPartition: 0, kafkaReplicationFactor: 0 })).toEqual([]);
    expect(violations({ kafkaReplicationFactor: -1 })).toEqual([
      "context.kafka_replication_factor: must be between 0 (broker default) and 32767; got -1",
    ]);
    expect(violations({ kafkaReplicationFactor: 32_767 })).toEqual([]);
    // Without BARITO_PRODUCER_MAX_TOPIC_PARTITIONS, only Kafka's int32 bound, named as a number.
    expect(violations({ kafkaPartition: 2_147_483_647 }, { maxTopicPartitions: undefined })).toEqual([]);
    expect(violations({ kafkaPartition: 2_147_483_648 }, { maxTopicPartitions: undefined })).toEqual([
      "context.kafka_partition: must be between 0 (broker default) and 2147483647; got 2147483648",
    ]);
    expect(violations({ appMaxTps: 2_147_483_647 })).toEqual([]);
    expect(violations({ appMaxTps: 1 })).toEqual([]);
  });

  it("caps the replication factor at the broker count only when that is a known, positive, smaller number", () => {
    const rf = (brokers: number | undefined) =>
      violations({ kafkaReplicationFactor: 5 }, { brokerCount: () => brokers });
    expect(rf(4)).toEqual([
      "context.kafka_replication_factor: must be between 0 (broker default) and 4, the number of brokers in the Kafka cluster (4); got 5",
    ]);
    expect(rf(5)).toEqual([]);
    expect(rf(0)).toEqual([]);
    expect(rf(undefined)).toEqual([]);
    expect(violations({ kafkaReplicationFactor: 32_767 }, { brokerCount: () => 32_767 })).toEqual([]);
    // As many brokers as the int16 bound: the bound is the one named, not the cluster.
    expect(violations({ kafkaReplicationFactor: 32_768 }, { brokerCount: () => 32_767 })).toEqual([
      "context.kafka_replication_factor: must be between 0 (broker default) and 32767; got 32768",
    ]);
    expect(violations({ kafkaReplicationFactor: 32_768 }, { brokerCount: () => 40_000 })).toEqual([
      "context.kafka_replication_factor: must be between 0 (broker default) and 32767; got 32768",
    ]);
  });

  it("checks app_group_max_tps instead of app_max_tps when disable_app_tps is set, up to int32", () => {
    expect(violations({ disableAppTps: true, appGroupMaxTps: 2_147_483_647, appMaxTps: 0 })).toEqual([]);
    expect(violations({ disableAppTps: true, appGroupMaxTps: 1 })).toEqual([]);
  });
});

describe("validateCollection()", () => {
  const collection = (items: number, context: Record<string, unknown> = {}, content: boolean[] = []) =>
    create(TimberCollectionSchema, {
      context: { kafkaTopic: "shop", esIndexPrefix: "shop", appMaxTps: 10, ...context },
      items: Array.from({ length: items }, (_, i) =>
        create(TimberSchema, content[i] === false ? {} : { content: { i } }),
      ),
    });
  const details = (value: ReturnType<typeof collection>, extra: Partial<ValidationLimits> = {}) => {
    try {
      validateCollection(value, { ...limits, ...extra });
      return [];
    } catch (err) {
      if (!(err instanceof ProduceError)) throw err;
      expect(err.code).toBe("INVALID_ARGUMENT");
      return err.details.map(({ field, reason }) => `${field}: ${reason}`);
    }
  };

  it("takes 1 to maxBatchItems logs and returns the collection's context", () => {
    const one = collection(1);
    expect(validateCollection(one, limits)).toBe(one.context);
    expect(details(collection(10))).toEqual([]);
    expect(details(collection(0))).toEqual(["items: must contain at least one log"]);
    expect(details(collection(11))).toEqual(["items: at most 10 logs per batch (got 11)"]);
  });

  it("names each item without content, and the context's fields with the context's path", () => {
    expect(details(collection(3, { esIndexPrefix: "Bad" }, [true, false, false]))).toEqual([
      "context.es_index_prefix: index names must be lowercase",
      "items[1].content: required: a JSON object",
      "items[2].content: required: a JSON object",
    ]);
  });

  it("stops listing item errors at 20: a batch of bad items gets a short answer", () => {
    const none = Array(40).fill(false);
    expect(details(collection(40, {}, none), { maxBatchItems: 100 })).toHaveLength(20);
    // The context's errors count towards the 20.
    const withContext = details(collection(40, { kafkaTopic: "", esIndexPrefix: "" }, none), { maxBatchItems: 100 });
    expect(withContext).toHaveLength(20);
    expect(withContext.slice(0, 3)).toEqual([
      "context.kafka_topic: required",
      "context.es_index_prefix: required",
      "items[0].content: required: a JSON object",
    ]);
    expect(withContext.at(-1)).toBe("items[17].content: required: a JSON object");
  });
});
