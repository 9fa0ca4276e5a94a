/**
 * Anthropic stop_reason ⇄ OpenAI finish_reason. Anthropic's values: end_turn, max_tokens,
 * stop_sequence, tool_use, pause_turn, refusal, model_context_window_exceeded.
 */
export function finishReasonFromStopReason(stopReason: unknown): string | null {
  switch (stopReason) {
    case null:
    case undefined:
      return null;
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "stop";
  }
}

/** OpenAI finish_reason → Anthropic stop_reason (`stop` with a matched stop sequence becomes stop_sequence). */
export function stopReasonFromFinishReason(finishReason: unknown, stopSequence?: string | null): string {
  switch (finishReason) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return stopSequence ? "stop_sequence" : "end_turn";
  }
}
