/**
 * Public types of @llmux/testing: the mock provider server, what it records and the faults it injects.
 */

/** Options of {@link startMockProvider}. */
export interface MockProviderOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default "127.0.0.1". */
  host?: string;
  /** Words in the default reply ("Mock reply: ..." counts as two); default 12. */
  words?: number;
  /** Delay between stream chunks, for every request unless a fault says otherwise; default 0. */
  chunkDelayMs?: number;
  /**
   * Credentials the Bedrock routes verify SigV4 signatures against: one set or several (e.g. the ones a
   * credential stand-in serves, before and after rotation). A set with a sessionToken also requires it
   * in x-amz-security-token.
   */
  bedrockCredentials?: BedrockCredentials | BedrockCredentials[];
  /** Model ids listed by GET /v1/models and GET /api/tags. */
  models?: string[];
  /**
   * Keep every request in `requests` (default true). Set false for long benchmark runs so memory stays flat;
   * `requests` then stays empty and `waitForRequests` only resolves for a count of 0.
   */
  recordRequests?: boolean;
}

export interface BedrockCredentials {
  /** Default "AKIDMOCKTEST". */
  accessKeyId: string;
  /** Default "mock-secret". */
  secretAccessKey: string;
  /** Temporary credentials: the x-amz-security-token the request must carry. */
  sessionToken?: string;
}

/** A running mock provider. */
export interface MockProvider {
  /** Base URL, e.g. "http://127.0.0.1:41234" (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order (recorded once its body has been read). */
  readonly requests: RecordedRequest[];
  /**
   * Behaviour of the "deployment" whose base URL is `scenarioUrl(id)`: one fault for every request,
   * an array consumed one fault per request (then normal answers), or a function deciding per request.
   */
  scenario(id: string, behaviour: ScenarioBehaviour): void;
  /** `${url}/scenario/${id}`: use it as an api_base prefix, e.g. `${scenarioUrl("a")}/v1`. */
  scenarioUrl(id: string): string;
  /** Resolves with the first `count` recorded requests once that many arrived; rejects after `timeoutMs` (default 5000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Forgets recorded requests and scenarios. */
  clear(): void;
  /** Stops listening and destroys every open socket (hanging requests included). */
  close(): Promise<void>;
}

export type ScenarioBehaviour = Fault | Fault[] | ((request: RecordedRequest) => Fault | undefined);

/** One request as the mock received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the `/scenario/{id}` prefix and without the query string, e.g. "/v1/chat/completions". */
  path: string;
  /** Query string parameters (last value wins), e.g. `{ "api-version": "2024-10-21" }`. */
  query: Record<string, string>;
  /** The scenario id when the URL had the `/scenario/{id}` prefix. */
  scenario?: string;
  /** Request headers as Node.js parsed them (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  // biome-ignore lint/suspicious/noExplicitAny: the body is whatever the client sent.
  body: any;
  /** Date.now() when the body had been read. */
  receivedAt: number;
  /** The fault applied to this request, if any. */
  fault?: Fault;
  /** Resolves true when the client closed the connection before the response finished, false otherwise. */
  clientClosed: Promise<boolean>;
  /** True once the response has been completely written. */
  completed: boolean;
}

/** Token counts a fault forces into the usage of the answer (each field passes through to the shape's field). */
export interface FaultUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** What to do instead of (or on top of) a normal answer. All fields are optional and combine. */
export interface Fault {
  /** Answer with this HTTP status (an error body in the route's provider shape when >= 400). */
  status?: number;
  /**
   * Send exactly this body (objects as JSON, strings as-is) with `status` (default 200) instead of the normal
   * answer. Without it, a status >= 400 gets the route's provider error shape.
   */
  body?: unknown;
  /** Sends `retry-after: N`. */
  retryAfterSeconds?: number;
  /** Sends `retry-after-ms: N`. */
  retryAfterMs?: number;
  /** Extra response headers (e.g. `x-ratelimit-remaining-requests`), on answers and errors alike. */
  headers?: Record<string, string>;
  /** Delay before the response headers. */
  latencyMs?: number;
  /** Streams: headers are sent at once, the first chunk after this delay. Non-streaming: added to latencyMs. */
  firstChunkDelayMs?: number;
  /** Streams: delay between chunks. */
  chunkDelayMs?: number;
  /** Never answer (until the client closes the connection or the mock is closed). */
  hang?: boolean;
  /** Destroy the connection after N chunks (non-streaming: after the headers and part of the body). */
  disconnectAfterChunks?: number;
  /** "json": invalid JSON in the body or in a stream event; "sse": a stream line without the `data:` field and no terminator. */
  malformed?: "json" | "sse";
  /** Reply text instead of the deterministic one. */
  content?: string;
  usage?: Partial<FaultUsage>;
  /** Answer with a tool call (arguments is a JSON string) instead of text. */
  toolCall?: { name: string; arguments: string };
  /** finish_reason (or the provider's stop reason) instead of the natural one. */
  finishReason?: string;
}
