import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { bool, exclusive, parseListParams, range, rejectUnknown, str, strArr, LIST_PARAM_KEYS } from '@meterflow/stripe-api';
import { EventsService } from '../../application/events.service.js';

/** `GET /v1/events` and `GET /v1/events/:id` (API_ROUTES). */
@Controller()
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @MessagePattern('events.list')
  list(@Payload() req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['type', 'types', 'created', 'delivery_success', 'limit', ...LIST_PARAM_KEYS]);
    exclusive(p, ['type', 'types']);
    const type = str(p, 'type', { maxLength: 5000 }) ?? undefined;
    const types = strArr(p, 'types', { maxLength: 5000 }) ?? undefined;
    if (types && types.length > 20)
      throw new DomainError('parameter_invalid', 'You may pass at most 20 event types in `types`.', { param: 'types' });
    const created = range(p, 'created');
    const deliverySuccess = bool(p, 'delivery_success') ?? undefined;
    return this.events.list(
      {
        ...(type === undefined ? {} : type.includes('*') ? { typePattern: type } : { types: [type] }),
        ...(types ? { types } : {}),
        ...(created ? { created } : {}),
        ...(deliverySuccess === undefined ? {} : { deliverySuccess }),
      },
      parseListParams(p),
    );
  }

  @MessagePattern('events.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    rejectUnknown(req.params, []);
    return this.events.retrieve(req.path.id!);
  }
}
