/** Stream ids of the credit-ledger event store. */
export const streams = {
  grant: (id: string) => `credit_grant-${id}`,
  application: (invoice: string) => `credit_application-${invoice}`,
  funding: (invoice: string) => `credit_funding-${invoice}`,
} as const;
