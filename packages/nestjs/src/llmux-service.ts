import "reflect-metadata";
import { createGatewayClient, type Gateway, type GatewayClient } from "@llmux/core";
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from "@nestjs/common";
import { LLMUX_OPTIONS, type LlmuxModuleOptions } from "./types";

/**
 * The gateway for the host's own services: `chat.completions.create`, `embeddings.create` and
 * `messages.create`, routed, priced and traced like the HTTP routes. Waits for the configured plugins at
 * start-up; on shutdown (`app.close()`, `enableShutdownHooks()`) flushes telemetry and closes the gateway.
 */
@Injectable()
export class LlmuxService implements OnModuleInit, OnApplicationShutdown {
  readonly gateway: Gateway;
  readonly chat: GatewayClient["chat"];
  readonly embeddings: GatewayClient["embeddings"];
  readonly messages: GatewayClient["messages"];
  private readonly owned: boolean;

  constructor(@Inject(LLMUX_OPTIONS) options: LlmuxModuleOptions) {
    const client = createGatewayClient("gateway" in options ? options.gateway : options);
    this.owned = !("gateway" in options);
    this.gateway = client.gateway;
    this.chat = client.chat;
    this.embeddings = client.embeddings;
    this.messages = client.messages;
  }

  async onModuleInit(): Promise<void> {
    await this.gateway.ready;
  }

  async onApplicationShutdown(): Promise<void> {
    await (this.owned ? this.gateway.shutdown() : this.gateway.flush());
  }
}
