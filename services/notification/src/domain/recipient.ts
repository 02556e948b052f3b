// Characters an id may have to become the local part of an address without quoting.
const LOCAL_PART = /^[A-Za-z0-9._+-]{1,64}$/

/**
 * The customer's email address from a template such as `{customerId}@customers.example.test`.
 * An id that can't be an address's local part gets no email (the notification stays in-app).
 */
export function recipientFrom(template: string): (customerId: string) => string | undefined {
  return (customerId) =>
    LOCAL_PART.test(customerId) ? template.replaceAll('{customerId}', customerId) : undefined
}
