export { isMlflowError, type MlflowError, type MlflowErrorKind } from "./errors";
export { resolveExperiment } from "./experiment";
export { type MlflowSpanExporter, mlflowExporter } from "./exporter";
export { createMlflowPlugin, createPlugin, type MlflowPlugin, PLUGIN_NAME } from "./plugin";
export { type MlflowRunLogger, mlflowRunLogger } from "./run-logger";
export {
  parseSageMakerArn,
  resolveTrackingTarget,
  type SageMakerTarget,
  type TrackingTarget,
} from "./tracking-uri";
export type * from "./types";
