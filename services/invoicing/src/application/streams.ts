/** Stream ids of the invoicing event store. */
export const INVOICE_STREAM = 'invoice-';
export const INVOICE_ITEM_STREAM = 'invoiceitem-';
export const invoiceStream = (id: string): string => `${INVOICE_STREAM}${id}`;
export const invoiceItemStream = (id: string): string => `${INVOICE_ITEM_STREAM}${id}`;
