export { isMlflowError, type MlflowError, type MlflowErrorKind } from "./errors";
export { resolveExperiment } from "./experiment";
export { type MlflowSpanExporter, mlflowExporter } from "./exporter";
export type * from "./types";
