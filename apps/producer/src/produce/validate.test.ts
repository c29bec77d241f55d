import { create } from "@bufbuild/protobuf";
import { TimberSchema } from "@barito-flow/proto";
import { describe, expect, it } from "@jest/globals";
import { ProduceError } from "./produce-error.js";
import { type ValidationLimits, validateTimber } from "./validate.js";

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
