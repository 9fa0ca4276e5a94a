export { isMlflowError, type MlflowError, type MlflowErrorKind } from "./errors";
export { resolveExperiment } from "./experiment";
export { type MlflowSpanExporter, mlflowExporter } from "./exporter";
export { type MlflowRunLogger, mlflowRunLogger } from "./run-logger";
export type * from "./types";
