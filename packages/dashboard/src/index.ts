/**
 * @llmux/dashboard: the gateway's built-in dashboard (live calls, spend, errors, deployment health,
 * exporters and, with the control plane, keys), served by the host app under a mount of its choice.
 * The adapters expose it as `gateway.dashboard`; `createDashboard` is the framework-agnostic core.
 */
export { createDashboard } from "./create-dashboard";
export { percentile } from "./store/dashboard-data";
export type {
  AttemptView,
  CallDetail,
  CallSummary,
  Dashboard,
  DashboardHost,
  DashboardOptions,
  DeploymentInfo,
  DeploymentView,
  ExporterView,
  ModelGroupStats,
  SpendDimension,
  SpendReport,
  SpendSeries,
} from "./types";
