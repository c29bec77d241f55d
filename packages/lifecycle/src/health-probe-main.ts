// A container's HEALTHCHECK (Dockerfile): exits 0 when the app's own /healthz answers 200, else 1.
// Usage: node node_modules/@barito-flow/lifecycle/dist/health-probe-main.js
import { healthProbeTarget, probeHealth } from "./health-probe.js";

const target = healthProbeTarget(process.env);
process.exitCode = target !== undefined && (await probeHealth(target)) ? 0 : 1;
