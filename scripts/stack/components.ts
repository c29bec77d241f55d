// The components of the local stack by name (see component.ts for what each one offers).
import type { Component } from "./component.ts";
import type { SingleComponentName } from "./config.ts";
import { kafka } from "./kafka.ts";
import { redis } from "./redis.ts";
import { elasticsearch, opensearch } from "./search.ts";

export type { Component, ComponentStatus, Log, StartOutcome, StopOutcome } from "./component.ts";
export { KAFKA_SASL_USER } from "./kafka.ts";

export const COMPONENTS: Record<SingleComponentName, Component> = { kafka, opensearch, redis, elasticsearch };
