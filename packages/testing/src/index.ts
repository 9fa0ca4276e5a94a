export { startMockProvider } from "./mock-provider.js";
export type {
  BedrockCredentials,
  Fault,
  FaultUsage,
  MockProvider,
  MockProviderOptions,
  RecordedRequest,
  ScenarioBehaviour,
} from "./types.js";
