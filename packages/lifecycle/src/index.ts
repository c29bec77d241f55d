export {
  EXIT_CUT_SHORT,
  installShutdown,
  type ProcessPort,
  type Shutdown,
  type ShutdownOptions,
  type StopResult,
} from "./shutdown.js";
export { withDeadline } from "./deadline.js";
