import { describe, expect, it, vi } from "vitest";
import { isCallRejection, rejectCall } from "./call-rejection";

describe("rejectCall / isCallRejection", () => {
  it("builds an Error carrying status, message and a type derived from the status", () => {
    const error = rejectCall(429, "monthly budget of team search exhausted", { code: "budget_exceeded" });
    // Sent status 429 with a code: came back an Error with status/message/type/code and the brand.
    expect(error).toBeInstanceOf(Error);
    expect(error.status).toBe(429);
    expect(error.message).toBe("monthly budget of team search exhausted");
    expect(error.type).toBe("rate_limit");
    expect(error.code).toBe("budget_exceeded");
    expect(error.kind).toBe("call_rejection");
    expect(isCallRejection(error)).toBe(true);

    expect(rejectCall(400, "x").type).toBe("bad_request");
    expect(rejectCall(403, "x").type).toBe("permission_denied");
    expect(rejectCall(413, "x").type).toBe("request_too_large");
    expect(rejectCall(503, "x").type).toBe("unavailable");
    expect(rejectCall(500, "x").type).toBe("server_error");
    expect(rejectCall(400, "blocked", { type: "content_policy" }).type).toBe("content_policy");
    // A status that is not an HTTP error becomes 400.
    expect(rejectCall(200, "x").status).toBe(400);
  });

  it("recognises a rejection made by another copy of the module (brand, not instanceof)", async () => {
    vi.resetModules();
    const copy = (await import("./call-rejection")) as typeof import("./call-rejection");
    const fromCopy = copy.rejectCall(401, "no key");
    const fromHere = rejectCall(401, "no key");
    // Two module instances: different classes, so instanceof cannot work across them…
    expect(copy.rejectCall).not.toBe(rejectCall);
    expect(Object.getPrototypeOf(fromCopy)).not.toBe(Object.getPrototypeOf(fromHere));
    expect(fromCopy instanceof (fromHere.constructor as new () => Error)).toBe(false);
    // …but the Symbol.for brand does, both ways.
    expect(isCallRejection(fromCopy)).toBe(true);
    expect(copy.isCallRejection(fromHere)).toBe(true);
    expect(fromCopy.status).toBe(401);
    expect(fromCopy.type).toBe("authentication");
  });

  it("does not mistake look-alikes for rejections", () => {
    expect(isCallRejection(new Error("plain"))).toBe(false);
    expect(isCallRejection({ status: 429, message: "x", type: "rate_limit", kind: "call_rejection" })).toBe(
      false,
    );
    expect(isCallRejection(null)).toBe(false);
    expect(isCallRejection("rejected")).toBe(false);
  });
});
