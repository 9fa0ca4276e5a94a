import type { IncomingMessage } from "node:http";
import { authenticateRequest, isLlmuxError } from "@llmux/core";
import { LlmuxService } from "@llmux/nestjs";
import { type CanActivate, type ExecutionContext, HttpException, Inject, Injectable } from "@nestjs/common";

/**
 * The in-process API trusts its caller, so a host route that uses it checks the caller first. This
 * guard applies the gateway's own key check (master key or `authorize` hook) to a host route; a real
 * app would use its own auth. Refusals are 401 `{ error }`, like the host's other errors.
 */
@Injectable()
export class GatewayKeyGuard implements CanActivate {
  constructor(@Inject(LlmuxService) private readonly llm: LlmuxService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<IncomingMessage | { raw: IncomingMessage }>();
    try {
      // The Node request (Fastify wraps it).
      await authenticateRequest(this.llm.gateway, "raw" in request ? request.raw : request);
      return true;
    } catch (error) {
      throw new HttpException({ error: isLlmuxError(error) ? error.message : "Unauthorized" }, 401);
    }
  }
}
