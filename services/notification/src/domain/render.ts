import { readFileSync } from 'node:fs'
import Handlebars from 'handlebars'
import { NOTIFICATION_KINDS, type EventData } from '@platform/contracts'

export const KINDS = NOTIFICATION_KINDS
export type Kind = (typeof KINDS)[number]

export interface Message {
  subject: string
  text: string
  html: string
}

/** What the templates see: the event's data, formatted for a reader. */
interface View {
  orderNumber: string
  reason?: string
  lines?: Array<{ productId: string; quantity: number; unitPrice: string; lineTotal: string }>
  total?: string
}

/** Money in a currency's minor unit (cents), formatted the way the currency is written. */
export function formatMoney(minor: number, currency: string, locale = 'en'): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency })
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2
  return format.format(minor / 10 ** digits)
}

/** The short order number people read in a subject line: the id's first eight hex digits. */
export function orderNumber(orderId: string): string {
  return orderId.slice(0, 8).toUpperCase()
}

function view(kind: Kind, data: EventData<Kind>): View {
  const base = { orderNumber: orderNumber(data.orderId) }
  if (kind === 'order.confirmed') {
    const d = data as EventData<'order.confirmed'>
    return {
      ...base,
      lines: d.lines.map((l) => ({
        productId: l.productId,
        quantity: l.quantity,
        unitPrice: formatMoney(l.unitPriceMinor, d.currency),
        lineTotal: formatMoney(l.unitPriceMinor * l.quantity, d.currency)
      })),
      total: formatMoney(d.totalMinor, d.currency)
    }
  }
  if (kind === 'order.rejected') return { ...base, reason: (data as EventData<'order.rejected'>).reason }
  return base
}

type Compiled = { subject: (v: View) => string; text: (v: View) => string; html: (v: View) => string }

/**
 * Loads `<dir>/<kind>/{subject,text,html}.hbs` for every kind once. The HTML body is escaped
 * (an order's data can't inject markup); subject and text are plain text. A template naming a
 * field the view lacks fails at render (strict), not silently blank.
 */
export function loadTemplates(dir: URL): (kind: Kind, data: EventData<Kind>) => Message {
  const compile = (kind: Kind, part: keyof Compiled, noEscape: boolean) =>
    Handlebars.compile(readFileSync(new URL(`${kind}/${part}.hbs`, dir), 'utf8'), { noEscape, strict: true })
  const templates = new Map<Kind, Compiled>(
    KINDS.map((kind) => [
      kind,
      {
        subject: compile(kind, 'subject', true),
        text: compile(kind, 'text', true),
        html: compile(kind, 'html', false)
      }
    ])
  )
  return (kind, data) => {
    const t = templates.get(kind)!
    const v = view(kind, data)
    return { subject: t.subject(v).trim(), text: t.text(v), html: t.html(v) }
  }
}
