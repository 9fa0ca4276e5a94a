import { describe, expect, it } from "vitest";
import { buildCallContext } from "./call-context";

describe("buildCallContext", () => {
  it("drops user_api_key_* sent by the client in metadata (they would spoof key labels and budget gauges)", () => {
    const context = buildCallContext(
      {
        metadata: {
          user_api_key_alias: "someone-else",
          user_api_key_max_budget: 1_000_000,
          user_api_key_spend: 0,
          app: "search",
        },
      },
      {},
      undefined,
    );
    expect(context.metadata).toEqual({ app: "search" });
  });

  it("keeps user_api_key_* that the gateway's authentication (control plane or host hook) gives", () => {
    const context = buildCallContext(
      { metadata: { user_api_key_alias: "spoofed" } },
      {},
      { metadata: { user_api_key_alias: "real-alias", user_api_key_hash: "abc" } },
    );
    expect(context.metadata).toEqual({ user_api_key_alias: "real-alias", user_api_key_hash: "abc" });
  });
});
