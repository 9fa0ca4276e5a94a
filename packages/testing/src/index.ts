export {
  type AwsStandIn,
  type AwsStandInRequest,
  type ServedCredentials,
  startContainerCredentialsServer,
  startInstanceMetadataServer,
  startSsoPortalServer,
  startStsServer,
} from "./aws-stand-ins.js";
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
