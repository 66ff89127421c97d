import './telemetry.js';
import { bootstrapService } from '@meterflow/service-kit';
import { gatewayDefinition } from './gateway.definition.js';
import { GatewayModule } from './gateway.module.js';

await bootstrapService(gatewayDefinition, GatewayModule);
