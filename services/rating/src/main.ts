import './telemetry.js';
import { bootstrapService } from '@meterflow/service-kit';
import { ratingDefinition } from './rating.definition.js';
import { RatingModule } from './rating.module.js';

await bootstrapService(ratingDefinition, RatingModule);
