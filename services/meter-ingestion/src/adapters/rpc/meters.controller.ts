import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { enumOf, obj, parseListParams, rejectUnknown, str, LIST_PARAM_KEYS } from '@meterflow/stripe-api';
import { MetersService } from '../../application/meters.service.js';
import { DEFAULT_CUSTOMER_KEY, DEFAULT_VALUE_KEY } from '../../domain/meter.types.js';

/** `billing.meters` ops (API_ROUTES). */
@Controller()
export class MetersController {
  constructor(private readonly meters: MetersService) {}

  @MessagePattern('meters.create')
  create(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['display_name', 'event_name', 'default_aggregation', 'customer_mapping', 'value_settings', 'event_time_window']);
    const displayName = str(p, 'display_name', { required: true, maxLength: 250 });
    const eventName = str(p, 'event_name', { required: true, maxLength: 100 });
    const agg = obj(p, 'default_aggregation', { required: true });
    rejectUnknown(agg, ['formula']);
    const formula = enumOf(agg, 'formula', ['sum', 'count', 'last'] as const, { required: true });
    const mapping = obj(p, 'customer_mapping');
    let customerPayloadKey = DEFAULT_CUSTOMER_KEY;
    if (mapping) {
      rejectUnknown(mapping, ['event_payload_key', 'type']);
      customerPayloadKey = str(mapping, 'event_payload_key', { required: true, maxLength: 100 });
      enumOf(mapping, 'type', ['by_id'] as const, { required: true });
    }
    const valueSettings = obj(p, 'value_settings');
    let valuePayloadKey = DEFAULT_VALUE_KEY;
    if (valueSettings) {
      rejectUnknown(valueSettings, ['event_payload_key']);
      valuePayloadKey = str(valueSettings, 'event_payload_key', { required: true, maxLength: 100 });
    }
    const eventTimeWindow = enumOf(p, 'event_time_window', ['hour', 'day'] as const) ?? null;
    return this.meters.create({ displayName, eventName, formula, customerPayloadKey, valuePayloadKey, eventTimeWindow }, req.requestId);
  }

  @MessagePattern('meters.list')
  list(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, ['status', ...LIST_PARAM_KEYS]);
    const status = enumOf(req.params, 'status', ['active', 'inactive'] as const) ?? undefined;
    return this.meters.list(status, parseListParams(req.params));
  }

  @MessagePattern('meters.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.meters.retrieve(req.path.id!);
  }

  @MessagePattern('meters.update')
  update(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, ['display_name']);
    const displayName = str(req.params, 'display_name', { maxLength: 250 }) ?? undefined;
    return this.meters.update(req.path.id!, displayName, req.requestId);
  }

  @MessagePattern('meters.deactivate')
  deactivate(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.meters.deactivate(req.path.id!, req.requestId);
  }

  @MessagePattern('meters.reactivate')
  reactivate(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.meters.reactivate(req.path.id!, req.requestId);
  }
}
