// OpenAPI 3.1 description of the REST routes (the RPC routes are described by proto/producer/producer.proto).
const context = {
  type: "object",
  required: ["kafka_topic", "es_index_prefix"],
  properties: {
    kafka_topic: {
      type: "string",
      description: "Topic = BARITO_KAFKA_TOPIC_PREFIX + kafka_topic + BARITO_KAFKA_TOPIC_SUFFIX; [a-zA-Z0-9._-]",
    },
    kafka_partition: {
      type: "integer",
      minimum: 0,
      description: "Partitions when the topic is created (0 = broker default)",
    },
    kafka_replication_factor: {
      type: "integer",
      minimum: 0,
      description: "Replication when the topic is created (0 = broker default)",
    },
    es_index_prefix: { type: "string", description: 'Index prefix: lowercase, no \\ / * ? " < > | space , # :' },
    es_document_type: { type: "string", description: "Ignored (documents are typeless)" },
    app_max_tps: {
      type: "integer",
      minimum: 1,
      description: "Logs per second for this topic (required unless disable_app_tps)",
    },
    app_secret: { type: "string" },
    disable_app_tps: { type: "boolean", description: "Use the app-group limit instead of the per-app one" },
    app_group_max_tps: { type: "integer", minimum: 1 },
  },
  description: "camelCase keys are accepted too",
};
const timber = {
  type: "object",
  required: ["context", "content"],
  properties: {
    context,
    content: { type: "object", description: "The log document" },
    timestamp: { type: "string", description: "Ignored: set to the receive time" },
  },
};
const error = {
  type: "object",
  required: ["code", "message", "details"],
  properties: {
    code: {
      type: "string",
      enum: [
        "INVALID_ARGUMENT",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "AUTH_LOCKED_OUT",
        "AUTH_UNAVAILABLE",
        "PAYLOAD_TOO_LARGE",
        "RATE_LIMITED",
        "KAFKA_UNAVAILABLE",
        "NOT_ENOUGH_REPLICAS",
        "PARTIALLY_WRITTEN",
        "SHUTTING_DOWN",
        "OVERLOADED",
        "INTERNAL",
        "NOT_FOUND",
      ],
    },
    message: { type: "string" },
    details: {
      type: "array",
      items: { type: "object", properties: { field: { type: "string" }, reason: { type: "string" } } },
    },
  },
};
const retryAfter = { "Retry-After": { description: "Seconds until a retry can succeed", schema: { type: "integer" } } };
const idempotencyKey = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Carried into the Kafka records; the consumer indexes retries of the same key only once",
  schema: { type: "string", maxLength: 256 },
};
const responses = {
  "200": {
    description: "Stored in Kafka",
    content: { "application/json": { schema: { type: "object", properties: { topic: { type: "string" } } } } },
  },
  "400": {
    description: "Invalid request",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "401": {
    description: "BARITO_PRODUCER_AUTH=app-secret: context.app_secret missing or unknown (UNAUTHENTICATED)",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "403": {
    description: "The app secret may not write to context.kafka_topic (PERMISSION_DENIED)",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "413": {
    description: "Body or record too large",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "429": {
    description: "Rate limit exceeded, or too many failed app-secret attempts from this address (AUTH_LOCKED_OUT)",
    headers: retryAfter,
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "503": {
    description:
      "Kafka unavailable, the in-flight cap full (OVERLOADED), shutting down, or the app-secret source unreachable (AUTH_UNAVAILABLE)",
    headers: retryAfter,
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
};

export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "barito-flow producer", version: "0.1.0" },
  paths: {
    "/produce": {
      post: {
        summary: "Store one log",
        parameters: [idempotencyKey],
        requestBody: { required: true, content: { "application/json": { schema: timber } } },
        responses,
      },
    },
    "/produce_batch": {
      post: {
        summary: "Store several logs of one app, all or none",
        parameters: [idempotencyKey],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["context", "items"],
                properties: {
                  context,
                  items: {
                    type: "array",
                    minItems: 1,
                    items: { type: "object", properties: { content: { type: "object" } } },
                  },
                },
              },
            },
          },
        },
        responses,
      },
    },
    "/healthz": { get: { summary: "Process alive", responses: { "200": { description: "alive" } } } },
    "/readyz": {
      get: {
        summary: "Kafka reachable and not shutting down",
        responses: { "200": { description: "ready" }, "503": { description: "not ready" } },
      },
    },
  },
  components: { schemas: { Error: error } },
} as const;
