/**
 * langfuseFeedback: records a score (user feedback, an evaluation) on a Langfuse trace or
 * observation through Langfuse's public REST API, `POST /api/public/scores` with Basic auth
 * (body: traceId, observationId?, name, value, comment?, dataType?, environment?; response: { id }).
 * Langfuse's trace id is the OTel trace id and its observation id the span id, both in hex.
 * Scores delivered and failed go to the "langfuse" scores health record: the first failure of an
 * outage and its recovery are logged once each, and Prometheus counts them.
 */
import { exportHealth } from "@llmux/callbacks";
import { LlmuxOtelError } from "./errors";
import { langfuseAuthorization } from "./exporters";
import type { LangfuseFeedback, LangfuseFeedbackOptions, ScoreDataType, ScoreInput } from "./types";

export const LANGFUSE_SCORES_PATH = "/api/public/scores";

function dataTypeOf(value: ScoreInput["value"]): ScoreDataType {
  if (typeof value === "boolean") return "BOOLEAN";
  if (typeof value === "string") return "CATEGORICAL";
  return "NUMERIC";
}

export function langfuseFeedback(options: LangfuseFeedbackOptions): LangfuseFeedback {
  const missing = (["baseUrl", "publicKey", "secretKey"] as const).filter((key) => !options[key]);
  if (missing.length > 0) {
    throw new LlmuxOtelError("missing_configuration", `langfuseFeedback needs ${missing.join(", ")}`);
  }
  const url = `${options.baseUrl.replace(/\/+$/, "")}${LANGFUSE_SCORES_PATH}`;
  const authorization = langfuseAuthorization(options);
  const timeoutMillis = options.timeoutMillis ?? 10_000;
  const health = exportHealth("langfuse", "scores", options.logger ? { logger: options.logger } : {});

  return {
    async score(input: ScoreInput): Promise<{ id?: string }> {
      try {
        const result = await send(input);
        health.succeeded(1);
        return result;
      } catch (error) {
        health.failed(1, error);
        throw error;
      }
    },
  };

  async function send(input: ScoreInput): Promise<{ id?: string }> {
    const dataType = input.dataType ?? dataTypeOf(input.value);
    const body: Record<string, unknown> = {
      traceId: input.traceId,
      name: input.name,
      value: typeof input.value === "boolean" ? (input.value ? 1 : 0) : input.value,
      dataType,
    };
    if (input.observationId) body.observationId = input.observationId;
    const environment =
      typeof options.environment === "function" ? options.environment() : options.environment;
    // a score lands in the environment of the trace it scores (Langfuse files scores by environment)
    if (environment) body.environment = environment;
    if (input.comment !== undefined) body.comment = input.comment;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { authorization, "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMillis),
      });
    } catch (error) {
      throw new LlmuxOtelError("feedback_failed", `Langfuse could not be reached at ${url}`, {
        cause: error,
      });
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      throw new LlmuxOtelError(
        "feedback_failed",
        `Langfuse refused the score: HTTP ${response.status}${text ? ` ${text.slice(0, 200)}` : ""}`,
      );
    }
    try {
      const parsed = JSON.parse(text) as { id?: unknown };
      return typeof parsed.id === "string" ? { id: parsed.id } : {};
    } catch {
      return {};
    }
  }
}
