import type { IncomingMessage } from "node:http";
import { callInfo, isLlmuxError } from "@llmux/core";
import { LlmuxService } from "@llmux/nestjs";
import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  HttpException,
  Inject,
  Post,
  Req,
  UseGuards,
} from "@nestjs/common";
import { GatewayKeyGuard } from "./gateway-key-guard";

/** Injection token of the model group `POST /api/summarize` uses. */
export const SUMMARY_MODEL = Symbol.for("app-nest.summary-model");

/**
 * A route of the host's own that calls the gateway in-process through the injected LlmuxService:
 * routed, priced, traced and counted like a call to /v1, with no HTTP hop. The in-process API trusts
 * its caller, so the route is behind the gateway's key check (GatewayKeyGuard).
 */
@Controller("api/summarize")
@UseGuards(GatewayKeyGuard)
export class SummarizeController {
  constructor(
    @Inject(LlmuxService) private readonly llm: LlmuxService,
    @Inject(SUMMARY_MODEL) private readonly model: string,
  ) {}

  @Post()
  @HttpCode(200)
  async summarize(
    @Body() body: { text?: unknown } | undefined,
    @Req() request: IncomingMessage | { raw: IncomingMessage },
  ) {
    if (typeof body?.text !== "string" || body.text.length === 0) {
      throw new BadRequestException("text is required");
    }
    try {
      const completion = await this.llm.chat.completions.create(
        {
          model: this.model,
          messages: [
            { role: "system", content: "Summarize the user's text in one sentence." },
            { role: "user", content: body.text },
          ],
          metadata: { tags: ["summarize"] },
        },
        // The Node request (Fastify wraps it): its session header and traceparent apply to the call.
        { request: "raw" in request ? request.raw : request },
      );
      const message = completion.choices[0]?.message as { content?: string } | undefined;
      const info = callInfo(completion);
      const cost = info?.headers["x-llmux-response-cost"];
      return {
        summary: message?.content ?? "",
        model: this.model,
        callId: info?.callId,
        cost: cost ? Number(cost) : null,
      };
    } catch (error) {
      if (!isLlmuxError(error)) throw error;
      throw new HttpException({ error: error.message }, error.status);
    }
  }
}
