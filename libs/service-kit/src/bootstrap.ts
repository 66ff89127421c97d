import 'reflect-metadata';
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import { MeterflowTransport, PassThroughRpcErrors } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import type { ServiceDefinition } from './definition.js';
import { loadServiceConfig, type ServiceConfig } from './config.js';
import { MeterflowModule } from './meterflow.module.js';
import { installProcessGuards } from './process-guards.js';
import { LOGGER, NATS_CONNECTION, NATS_NAMES } from './tokens.js';

export interface RunningService {
  app: NestFastifyApplication;
  config: ServiceConfig;
  /** Base URL of the HTTP listener (health, metrics; the API for the gateway). */
  url: string;
  close(): Promise<void>;
}

/**
 * Boot one service: validated config, the shared platform module, the service's own module,
 * the request/reply transport, and the HTTP listener. Everything a service needs comes from here.
 */
export async function bootstrapService(
  def: ServiceDefinition,
  appModule: Type<unknown>,
  overrides: Record<string, string> = {},
): Promise<RunningService> {
  const config = loadServiceConfig(def, overrides);

  class RootModule {}
  Module({ imports: [MeterflowModule.forRoot(def, config), appModule] })(RootModule);

  const app = await NestFactory.create<NestFastifyApplication>(RootModule, new FastifyAdapter({ bodyLimit: 10 * 1024 * 1024 }), {
    logger: config.LOG_LEVEL === 'silent' ? false : ['error', 'warn'],
    bufferLogs: false,
  });
  const logger = app.get<Logger>(LOGGER);
  installProcessGuards(logger);
  const nc = app.get<NatsConnection>(NATS_CONNECTION);
  const names = app.get<NatsNames>(NATS_NAMES);
  app.useGlobalFilters(new PassThroughRpcErrors(app.getHttpAdapter()));
  app.connectMicroservice(
    {
      strategy: new MeterflowTransport({
        nc,
        names,
        service: def.name,
        onUnexpectedError: (op, e) => logger.error({ err: e, op }, 'rpc handler failed'),
      }),
    },
    { inheritAppConfig: true },
  );
  if (def.configure) await def.configure(app);
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  const addr = app.getHttpServer().address();
  const port = typeof addr === 'object' && addr ? addr.port : config.HTTP_PORT;
  const url = `http://127.0.0.1:${port}`;
  logger.info({ url, namespace: config.MF_NAMESPACE || undefined }, `${def.name} listening`);
  return { app, config, url, close: () => app.close() };
}
