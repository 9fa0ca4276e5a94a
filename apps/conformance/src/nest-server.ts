import "reflect-metadata";
import type { GatewayOptions } from "@llmux/core";
import { LlmuxModule, LlmuxService } from "@llmux/nestjs";
import { Body, Controller, Get, Module, Post } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import type { ServerSettings, StartServer } from "./types";

@Controller("api")
class HostController {
  @Get("ping")
  ping() {
    return { pong: true };
  }

  @Post("echo")
  echo(@Body() body: unknown) {
    return { body: body ?? null };
  }
}

/** NestJS on the Express or the Fastify platform with `LlmuxModule.forRoot(options)`. */
export function nestServer(platform: "express" | "fastify"): StartServer {
  return async (options: GatewayOptions, { bodyParser }: ServerSettings) => {
    @Module({ imports: [LlmuxModule.forRoot(options)], controllers: [HostController] })
    class AppModule {}
    const adapter = platform === "express" ? new ExpressAdapter() : new FastifyAdapter();
    const app = await NestFactory.create(AppModule, adapter, { logger: false, bodyParser });
    await app.listen(0, "127.0.0.1");
    const port = new URL(await app.getUrl()).port;
    const gateway = app.get(LlmuxService).gateway;
    return { url: `http://127.0.0.1:${port}`, gateway, close: () => app.close() };
  };
}
