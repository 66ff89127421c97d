import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { enumOf, int, objArr, obj, parseListParams, rejectUnknown, str, LIST_PARAM_KEYS } from '@meterflow/stripe-api';
import { AlertsService } from '../../application/alerts.service.js';

/** `billing.alerts` ops. */
@Controller()
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @MessagePattern('alerts.create')
  create(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['alert_type', 'title', 'usage_threshold']);
    enumOf(p, 'alert_type', ['usage_threshold'] as const, { required: true });
    const title = str(p, 'title', { required: true, maxLength: 256 });
    const ut = obj(p, 'usage_threshold', { required: true });
    rejectUnknown(ut, ['gte', 'meter', 'recurrence', 'filters']);
    const gte = int(ut, 'gte', { required: true, min: 1 });
    const meterId = str(ut, 'meter', { required: true, maxLength: 5000 });
    enumOf(ut, 'recurrence', ['one_time'] as const, { required: true });
    const filters = objArr(ut, 'filters') ?? [];
    if (filters.length > 1)
      throw new DomainError('parameter_invalid', 'At most one filter is supported.', { param: 'usage_threshold[filters]' });
    let customer: string | null = null;
    for (const f of filters) {
      rejectUnknown(f, ['type', 'customer']);
      enumOf(f, 'type', ['customer'] as const, { required: true });
      customer = str(f, 'customer', { required: true, maxLength: 5000 });
    }
    return this.alerts.create({ title, meterId, gte, customer });
  }

  @MessagePattern('alerts.list')
  list(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, ['alert_type', 'meter', ...LIST_PARAM_KEYS]);
    enumOf(req.params, 'alert_type', ['usage_threshold'] as const);
    return this.alerts.list(str(req.params, 'meter') ?? undefined, parseListParams(req.params));
  }

  @MessagePattern('alerts.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.alerts.retrieve(req.path.id!);
  }

  @MessagePattern('alerts.activate')
  activate(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.alerts.setStatus(req.path.id!, 'active');
  }

  @MessagePattern('alerts.deactivate')
  deactivate(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.alerts.setStatus(req.path.id!, 'inactive');
  }

  @MessagePattern('alerts.archive')
  archive(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.alerts.setStatus(req.path.id!, 'archived');
  }
}
