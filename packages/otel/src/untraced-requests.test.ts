import { describe, expect, it } from "vitest";
import { isUntracedRequest } from "./untraced-requests";

describe("isUntracedRequest", () => {
  it("health probes, HEAD / and POST …/feedback are untraced; calls and the host's routes are traced", () => {
    const untraced = [
      ["GET", "/health/liveliness"],
      ["GET", "/v1/health/readiness?verbose=1"],
      ["HEAD", "/health/liveness"],
      ["GET", "/llm/health"],
      ["HEAD", "/"],
      ["POST", "/v1/feedback"],
      ["POST", "/api/llm/feedback/"],
    ];
    const traced = [
      ["POST", "/v1/chat/completions"],
      ["GET", "/v1/models"],
      ["GET", "/"],
      ["GET", "/v1/feedback"],
      ["POST", "/healthcheck"],
      ["GET", "/api/health-report"],
      ["GET", "/metrics"],
    ];
    for (const [method, url] of untraced)
      expect(isUntracedRequest({ method, url }), `${method} ${url}`).toBe(true);
    for (const [method, url] of traced)
      expect(isUntracedRequest({ method, url }), `${method} ${url}`).toBe(false);
  });
});
