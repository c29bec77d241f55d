export {
  installShutdown,
  type ProcessPort,
  type Shutdown,
  type ShutdownOptions,
  type StopResult,
} from "./shutdown.js";
export { waitUntil, withDeadline } from "./deadline.js";
export {
  type HealthAnswer,
  type HealthPath,
  healthAnswer,
  healthPaths,
  isHealthPath,
  type Readiness,
} from "./health.js";
export { type HealthProbeTarget, healthProbeTarget, probeHealth } from "./health-probe.js";
export { requireBearerToken } from "./operator-token.js";
