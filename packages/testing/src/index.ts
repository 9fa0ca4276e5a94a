export { startMockProvider } from "./mock-provider.js";
export * from "./otlp/index.js";
export type {
  BedrockCredentials,
  Fault,
  FaultUsage,
  MockProvider,
  MockProviderOptions,
  RecordedRequest,
  ScenarioBehaviour,
} from "./types.js";
