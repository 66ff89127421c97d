import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What caused the work in progress: the request or message being handled. Set once where a
 * message enters a service (the RPC transport, the JetStream consumers); read where facts are
 * written (the event store records it in event metadata) and where messages leave (the RPC
 * client sends it on in headers). Explicit values passed to an append win over it.
 *
 * - correlationId: the id of the first request or event in the chain (a `req_` id for API calls);
 *   it never changes along the chain.
 * - causationId: the id of the request or event that directly caused this work.
 */
export interface MessageContext {
  readonly correlationId?: string;
  readonly causationId?: string;
}

const storage = new AsyncLocalStorage<MessageContext>();

export function withMessageContext<T>(ctx: MessageContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentMessageContext(): MessageContext | undefined {
  return storage.getStore();
}

/** The context for handling a message with `id`, caused by it, in the chain it belongs to. */
export function causedBy(id: string | undefined, correlationId: string | undefined): MessageContext {
  return { correlationId: correlationId ?? id, causationId: id };
}
