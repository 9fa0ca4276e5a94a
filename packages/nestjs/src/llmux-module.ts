import "reflect-metadata";
import { type DynamicModule, Inject, Module, type NestModule, type Provider } from "@nestjs/common";
import { HttpAdapterHost } from "@nestjs/core";
import { LlmuxService } from "./llmux-service";
import { dashboardMiddleware } from "./mount-dashboard";
import { gatewayMiddleware } from "./mount-gateway";
import { LLMUX_OPTIONS, type LlmuxModuleAsyncOptions, type LlmuxModuleOptions } from "./types";

/**
 * `LlmuxModule.forRoot({ config: "llmux.config.yaml" })` serves the gateway at /v1 (health and metrics at
 * the root) on the Express or Fastify platform and provides the global `LlmuxService`.
 */
@Module({})
export class LlmuxModule implements NestModule {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(LlmuxService) private readonly service: LlmuxService,
    @Inject(LLMUX_OPTIONS) private readonly options: LlmuxModuleOptions,
  ) {}

  static forRoot(options: LlmuxModuleOptions): DynamicModule {
    return LlmuxModule.with({ provide: LLMUX_OPTIONS, useValue: options });
  }

  static forRootAsync({ imports, useFactory, inject }: LlmuxModuleAsyncOptions): DynamicModule {
    return LlmuxModule.with({ provide: LLMUX_OPTIONS, useFactory, inject: inject ?? [] }, imports);
  }

  private static with(options: Provider, imports: DynamicModule["imports"] = []): DynamicModule {
    const providers = [options, LlmuxService];
    return { module: LlmuxModule, global: true, imports, providers, exports: [LlmuxService, LLMUX_OPTIONS] };
  }

  /** Uses the platform directly (before the host's routes), not the consumer's route paths. */
  configure(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) return; // an application context without HTTP: LlmuxService only
    const { middleware, errorHandler } = gatewayMiddleware(this.service.gateway, this.options);
    adapter.use(middleware);
    if (this.options.dashboardPath)
      adapter.use(dashboardMiddleware(this.service.gateway, this.options.dashboardPath));
    if (adapter.getType() === "express") adapter.use(errorHandler);
  }
}
